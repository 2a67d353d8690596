"""What platforms hand the bot before it can act on it: commands stored, then carried out."""
