"""The OpenAPI 3.1 description of every route and the offline `/docs` page made from it.

`parts` holds the building blocks route modules describe their operations with,
`schemas` the component schemas, `spec` the assembly from the route
declarations, `docs_page` the HTML rendering.
"""

from snapshot_api.server.openapi.spec import OpenApi, build_spec

__all__ = ["OpenApi", "build_spec"]
