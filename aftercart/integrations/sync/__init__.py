"""Reconciliation: pull orders a store changed since a time and apply them like webhooks.

Webhooks get lost (an outage on either side, a deleted subscription, a store that gave up
retrying), so every platform we receive pushes from can also be asked. See service.py.
"""
