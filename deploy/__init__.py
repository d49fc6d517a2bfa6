"""The production set-up as files: nginx template, gunicorn config, Procfile, systemd units."""
