"""The local sandbox: `make sandbox` writes sandbox/compose.yaml (and the proxy's configuration) from app.yaml."""
