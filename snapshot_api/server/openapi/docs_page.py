"""The offline `/docs` page: one self-contained HTML page rendered from the description.

No scripts, no fonts, no styles from elsewhere, so it works on a machine
without internet. A reader tries a request without any script: every GET
operation links to itself with its example values filled in (values that exist
in the built-in sample, see `synth.sample_values`), and the batch shows the
`curl` command that sends its example body.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import orjson

from snapshot_api.server.openapi.parts import Schema

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 2rem;
color:#1d1d1f;background:#fff}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;margin-top:2.5rem}
h3{margin:1.8rem 0 .3rem;font-size:1.1rem}
.op{border:1px solid #ddd;border-radius:6px;padding:.2rem 1rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4rem;font-weight:700;color:#fff;border-radius:4px;
text-align:center;margin-right:.5rem;padding:0 .4rem}
.get{background:#2a7ab0}.post{background:#2f8f46}
code,pre{font:13px/1.4 ui-monospace,monospace;background:#f5f5f7;border-radius:4px}
code{padding:0 .25rem}pre{padding:.6rem;overflow-x:auto;max-height:24rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .6rem;
text-align:left;vertical-align:top}th{background:#f5f5f7}
nav a{margin-right:1rem}.muted{color:#666}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _inline(text: str) -> str:
    """Escape, then show `backticked` parts as code."""
    parts = _e(text).split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


def _type_of(schema: Schema) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    if "const" in schema:
        return f"<code>{_e(orjson.dumps(schema['const']).decode())}</code>"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of {_type_of(schema['additionalProperties'])}"
    return _e(kind)


def _example(example: Any) -> str:
    text = orjson.dumps(example, option=orjson.OPT_INDENT_2).decode()
    return f"<pre>{_e(text)}</pre>"


def example_url(path: str, operation: Schema) -> str | None:
    """`path` with every parameter's example filled in (query ones appended), or None
    when a path parameter has no example."""
    query = []
    for parameter in operation.get("parameters", []):
        if "example" not in parameter:
            if parameter["in"] == "path":
                return None
            continue
        value = quote(str(parameter["example"]), safe=":")
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", value)
        elif parameter["in"] == "query":
            query.append(f"{quote(parameter['name'])}={value}")
    return path + ("?" + "&".join(query) if query else "")


def _try_it(path: str, method: str, operation: Schema) -> str:
    if method == "get":
        url = example_url(path, operation)
        if url is None:
            return ""
        return f'<p>Try it: <a href="{_e(url)}"><code>GET {_e(url)}</code></a></p>'
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" not in content:
        return ""
    body = orjson.dumps(content["example"]).decode()
    command = f"curl -s -H 'content-type: application/json' -d '{body}' http://127.0.0.1:8080{path}"
    return f"<p>Try it from a shell:</p><pre>{_e(command)}</pre>"


def _operation(path: str, method: str, operation: Schema) -> list[str]:
    out = [
        f'<div class="op" id="{_e(operation["operationId"])}">',
        f'<h3><span class="method {method}">{method.upper()}</span><code>{_e(path)}</code></h3>',
        f"<p><strong>{_inline(operation['summary'])}</strong></p>",
    ]
    if "description" in operation:
        out.append(f"<p>{_inline(operation['description'])}</p>")
    out.append(_try_it(path, method, operation))
    parameters = operation.get("parameters", [])
    if parameters:
        out.append("<table><tr><th>parameter</th><th>in</th><th>description</th>"
                   "<th>example</th></tr>")  # fmt: skip
        for parameter in parameters:
            out.append(
                f"<tr><td><code>{_e(parameter['name'])}</code></td><td>{_e(parameter['in'])}</td>"
                f"<td>{_inline(parameter['description'])}</td>"
                f"<td><code>{_e(parameter.get('example', ''))}</code></td></tr>"
            )
        out.append("</table>")
    body = operation.get("requestBody")
    if body:
        for media_type, content in body["content"].items():
            out.append(
                f"<p>Request body (<code>{_e(media_type)}</code>): "
                f"{_type_of(content['schema'])}</p>"
            )
            if "example" in content:
                out.append(_example(content["example"]))
    out.append("<table><tr><th>status</th><th>answer</th></tr>")
    for status, response in operation["responses"].items():
        cells = [_inline(response["description"])]
        for media_type, content in response.get("content", {}).items():
            cells.append(f"<br><code>{_e(media_type)}</code>: {_type_of(content['schema'])}")
        out.append(f"<tr><td>{_e(status)}</td><td>{''.join(cells)}</td></tr>")
    out.append("</table>")
    ok = operation["responses"].get("200", {}).get("content", {}).get("application/json", {})
    if "example" in ok:
        out.append("<p>Example answer:</p>" + _example(ok["example"]))
    out.append("</div>")
    return out


def _schema_table(name: str, schema: Schema) -> list[str]:
    out = [f'<h3 id="schema-{_e(name)}">{_e(name)}</h3>']
    if "description" in schema:
        out.append(f"<p>{_inline(schema['description'])}</p>")
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        out.append("<table><tr><th>field</th><th>type</th><th>always present</th>"
                   "<th>notes</th></tr>")  # fmt: skip
        for field_name, field_schema in properties.items():
            out.append(
                f"<tr><td><code>{_e(field_name)}</code></td><td>{_type_of(field_schema)}</td>"
                f"<td>{'yes' if field_name in required else ''}</td>"
                f"<td>{_inline(field_schema.get('description', ''))}</td></tr>"
            )
        out.append("</table>")
    return out


def render_docs(spec: dict[str, Any]) -> str:
    """One self-contained HTML page describing every operation and schema of `spec`."""
    info = spec["info"]
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(info['title'])} {_e(info['version'])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_e(info['title'])} <span class='muted'>{_e(info['version'])}</span></h1>",
        f"<p>{_inline(info['summary'])}</p><p>{_inline(info['description'])}</p>",
        '<nav><a href="/openapi.json">openapi.json</a><a href="/openapi.yaml">openapi.yaml</a>'
        '<a href="#schemas">schemas</a></nav>',
    ]
    for tag in spec["tags"]:
        out.append(f"<h2>{_e(tag['name'])}</h2><p>{_inline(tag['description'])}</p>")
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if tag["name"] in operation.get("tags", []):
                    out += _operation(path, method, operation)
    out.append('<h2 id="schemas">Schemas</h2>')
    for name, schema in spec["components"]["schemas"].items():
        out += _schema_table(name, schema)
    out.append("</body></html>")
    return "\n".join(out)
