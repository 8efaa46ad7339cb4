"""WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py app.wsgi:application``."""

from app import create_app

application = create_app()
