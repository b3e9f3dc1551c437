"""Signed webhooks (contract.md, "Webhooks"): events raised where an appointment changes (events.py),
delivered after the commit by background jobs with retries (delivery.py), signed with Stripe's scheme
(signing.py); the desk's Send Test Event and Resend (actions.py). The endpoints and the log of tries
are DocTypes: CRM Appointment Webhook and CRM Appointment Webhook Delivery."""
