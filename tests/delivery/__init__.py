"""Tests of the durable outbox and its worker."""
