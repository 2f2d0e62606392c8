"""Payments: online (Stripe), outside Kairos, package credits, refunds.

The booking rules reach payments through ``options`` (initial status, on created, on
cancelled: inside the booking's transaction) and ``checkout`` (the Stripe calls after it
commits, never while the expert's lock is held). ``backend.views.payments`` builds
``booking.payment``. Only ``stripe_gateway`` imports the ``stripe`` SDK.
"""
