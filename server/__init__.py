"""The imgedit service: FastAPI REST and WebSocket API, auth, the job scheduler and the web page.

Build the app with ``server.app.create_app(settings)``; ``imgedit serve`` runs it under uvicorn.
"""
