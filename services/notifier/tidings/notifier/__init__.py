"""The notifier: delivers the notifications of queue subscriptions (webhooks, e-mail)."""
