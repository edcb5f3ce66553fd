"""The web application: FastAPI app, routers, authentication, portal."""
