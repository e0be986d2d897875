"""Returns and exchanges: the policy, requests, refunds, exchanges and store credit."""
