"""The scoring service's own API documentation: the bearer scheme in /openapi.json, and the /docs page.

The page is Swagger UI at a pinned version from jsDelivr, each file bound to its SHA-384 (subresource integrity), so
a changed file on the CDN is refused by the browser instead of run. It is served only with SPECSCAN_DOCS_ACCESS=public.
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi.responses import HTMLResponse

SWAGGER_UI_VERSION = "5.35.0"
SWAGGER_UI = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{SWAGGER_UI_VERSION}"
# SHA-384 of the two files in the npm package swagger-ui-dist 5.35.0 (jsDelivr serves a package's files unchanged)
SWAGGER_UI_INTEGRITY = {
    "swagger-ui.css": "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
    "swagger-ui-bundle.js": "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
}
BEARER = "bearer"
SECURITY_SCHEMES = {BEARER: {"type": "http", "scheme": "bearer",
                             "description": "An API key (`specscan apikey create`): `Authorization: Bearer <key>`"}}
KEYED: dict[str, Any] = {"security": [{BEARER: []}]}  # openapi_extra of a route that needs an API key


def _pinned(file: str) -> str:
    return (f'{"href" if file.endswith(".css") else "src"}="{SWAGGER_UI}/{file}" '
            f'integrity="{SWAGGER_UI_INTEGRITY[file]}" crossorigin="anonymous" referrerpolicy="no-referrer"')


def docs_page(title: str, openapi_url: str) -> HTMLResponse:
    """Swagger UI over `openapi_url`, its files from the pinned CDN version under SRI."""
    url = json.dumps(openapi_url).replace("</", "<\\/")  # a JavaScript string that cannot end the script
    return HTMLResponse(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="stylesheet" {_pinned("swagger-ui.css")}></head>
<body><div id="swagger-ui"></div>
<script {_pinned("swagger-ui-bundle.js")}></script>
<script>SwaggerUIBundle({{url: {url}, dom_id: "#swagger-ui"}});</script>
</body></html>
""")
