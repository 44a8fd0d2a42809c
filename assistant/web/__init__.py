"""The web service: JSON and SSE chat API, source view, feedback, health, metrics, widget."""
