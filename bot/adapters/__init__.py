"""Platform adapters: each turns its platform's payloads into engine events and renders replies."""
