"""ASGI entry point for uvicorn workers: builds the app from the environment's settings."""

from core.settings import load_settings


def app_factory():
    from api.app import create_app

    return create_app(load_settings(), serving=True)
