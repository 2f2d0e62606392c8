"""Output data built from models: what a booking or a payment looks like to the outside.

Plain functions that read rows and return data; notifications, emails, .ics, routes and the
dashboard import them. They never import ``backend.services`` (dependencies point one way:
services and notifications sit above the views).
"""
