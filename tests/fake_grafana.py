"""A small stand-in for Grafana's HTTP API: the endpoints ``replens grafana push`` calls, with Grafana's rules.

Grafana cannot be installed here (no package in the registries we may use), so this server keeps what
Grafana would keep and answers as its API documentation says: 401 without the right bearer token,
404 for an unknown datasource or folder uid, 409 when a datasource or folder with that uid or name
exists, 412 when a dashboard uid exists and ``overwrite`` is false, and dashboard versions that grow.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGrafana:
    def __init__(self, token: str) -> None:
        self.token = token
        self.datasources: list[dict[str, Any]] = []
        self.folders: list[dict[str, Any]] = []
        self.dashboards: dict[str, dict[str, Any]] = {}  # uid → {"dashboard", "folderUid", "version"}
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # the API ---------------------------------------------------------------------------------------
    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and (m := re.fullmatch(r"/api/datasources/uid/([\w-]+)", path)):
            found = [d for d in self.datasources if d["uid"] == m[1]]
            return (200, found[0]) if found else (404, {"message": "Data source not found"})
        if method == "POST" and path == "/api/datasources":
            if any(d["uid"] == body.get("uid") or d["name"] == body["name"] for d in self.datasources):
                return 409, {"message": "data source with the same name already exists"}
            stored = {**body, "id": len(self.datasources) + 1, "version": 1}
            self.datasources.append(stored)
            return 200, {"datasource": stored, "id": stored["id"], "message": "Datasource added"}
        if method == "PUT" and (m := re.fullmatch(r"/api/datasources/uid/([\w-]+)", path)):
            found = [d for d in self.datasources if d["uid"] == m[1]]
            if not found:
                return 404, {"message": "Data source not found"}
            found[0].update({**body, "version": found[0]["version"] + 1})
            return 200, {"datasource": found[0], "id": found[0]["id"], "message": "Datasource updated"}
        if method == "GET" and (m := re.fullmatch(r"/api/folders/([\w-]+)", path)):
            found = [f for f in self.folders if f["uid"] == m[1]]
            return (200, found[0]) if found else (404, {"message": "folder not found"})
        if method == "POST" and path == "/api/folders":
            if any(f["uid"] == body.get("uid") or f["title"] == body["title"] for f in self.folders):
                return 409, {"message": "a folder with the same name already exists"}
            folder = {"uid": body["uid"], "title": body["title"], "id": len(self.folders) + 1}
            self.folders.append(folder)
            return 200, folder
        if method == "POST" and path == "/api/dashboards/db":
            return self._save_dashboard(body)
        return 404, {"message": "Not found"}

    def _save_dashboard(self, body: dict[str, Any]) -> tuple[int, Any]:
        dashboard, folder_uid = body["dashboard"], body.get("folderUid")
        if folder_uid and not any(f["uid"] == folder_uid for f in self.folders):
            return 400, {"message": "folder not found"}
        uid = dashboard["uid"]
        if uid in self.dashboards and not body.get("overwrite"):
            return 412, {"status": "version-mismatch", "message": "The dashboard has been changed by someone else"}
        version = self.dashboards[uid]["version"] + 1 if uid in self.dashboards else 1
        self.dashboards[uid] = {"dashboard": dashboard, "folderUid": folder_uid, "version": version}
        return 200, {"id": list(self.dashboards).index(uid) + 1, "uid": uid, "status": "success", "version": version,
                     "url": f"/d/{uid}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((self.command, self.path))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    status, reply = 401, {"message": "Unauthorized"}
                else:
                    status, reply = fake.route(self.command, self.path.split("?")[0], body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        return Handler
