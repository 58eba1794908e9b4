"""A local STAND-IN for the Hugging Face Hub (the real Hub is not reachable here), on 127.0.0.1.

It serves, in memory, the endpoints huggingface_hub 2.4 calls for `HfApi(endpoint=...).create_repo`,
`create_commit` (README YAML validation, preupload, NDJSON commit) and `snapshot_download` (revision
info, tree listing, file resolve with HEAD and GET), read from the client's source (hf_api.py,
_commit_api.py, file_download.py, _snapshot_download.py). Preupload answers `regular` for every file, so
the client sends contents base64-encoded inside the commit and no LFS/Xet transfer is involved; the real
Hub would ask for LFS for the safetensors files. Private repositories need an Authorization header.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse


def _blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)


class HubStandIn:
    """`with HubStandIn() as hub:` ... `hub.endpoint`; `hub.repos` and `hub.calls` for assertions."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.calls: list[str] = []
        self.yaml_seen: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                  raw: bytes | None = None) -> None:
            data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _repo(self, repo_id: str) -> Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and not self.headers.get("Authorization")):
                self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                return None
            return repo

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            path = unquote(urlparse(self.path).path)
            hub.calls.append(f"POST {path}")
            if path == "/api/repos/create":
                payload = json.loads(self._body())
                repo_id = f"{payload['organization']}/{payload['name']}"
                if repo_id in hub.repos:
                    return self._send(409, {"error": "You already created this model repo"})
                hub.repos[repo_id] = Repo(private=payload.get("visibility") == "private")
                return self._send(200, {"url": f"{hub.endpoint}/{repo_id}", "name": repo_id})
            if path == "/api/validate-yaml":
                hub.yaml_seen.append(json.loads(self._body())["content"])
                return self._send(200, {"warnings": []})
            parts = path.split("/")  # ['', 'api', 'models', owner, name, action, revision]
            if len(parts) >= 7 and parts[1:3] == ["api", "models"]:
                repo = self._repo(f"{parts[3]}/{parts[4]}")
                if repo is None:
                    return None
                if parts[5] == "preupload":
                    files = json.loads(self._body())["files"]
                    return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                       "shouldIgnore": False, "oid": None} for f in files]})
                if parts[5] == "commit":
                    return self._commit(repo, f"{parts[3]}/{parts[4]}")
            return self._send(404, {"error": f"stand-in does not serve POST {path}"})

        def _commit(self, repo: Repo, repo_id: str) -> None:
            for line in self._body().splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    value = item["value"]
                    repo.files[value["path"]] = base64.b64decode(value["content"])
                elif item["key"] == "deletedFile":
                    repo.files.pop(item["value"]["path"], None)
                elif item["key"] != "header":
                    return self._send(400, {"error": f"stand-in does not handle commit item {item['key']}"})
            state = json.dumps(sorted((p, _blob_oid(d)) for p, d in repo.files.items()) + repo.commits)
            oid = hashlib.sha1(state.encode()).hexdigest()
            repo.commits.append(oid)
            return self._send(200, {"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{oid}", "commitOid": oid,
                                    "pullRequestUrl": None})

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            path = unquote(urlparse(self.path).path)
            hub.calls.append(f"{self.command} {path}")
            parts = path.split("/")
            if len(parts) >= 7 and parts[1:3] == ["api", "models"] and parts[5] in ("revision", "tree"):
                repo = self._repo(f"{parts[3]}/{parts[4]}")
                if repo is None:
                    return None
                if not repo.commits:
                    return self._send(404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
                if parts[5] == "revision":
                    return self._send(200, {"id": f"{parts[3]}/{parts[4]}", "sha": repo.commits[-1],
                                            "private": repo.private,
                                            "siblings": [{"rfilename": p} for p in sorted(repo.files)]})
                return self._send(200, [{"type": "file", "oid": _blob_oid(d), "size": len(d), "path": p}
                                        for p, d in sorted(repo.files.items())])
            if len(parts) >= 6 and parts[3] == "resolve":  # /{owner}/{name}/resolve/{revision}/{path}
                repo = self._repo(f"{parts[1]}/{parts[2]}")
                if repo is None:
                    return None
                name = "/".join(parts[5:])
                if name not in repo.files:
                    return self._send(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                data = repo.files[name]
                return self._send(200, raw=data, headers={"X-Repo-Commit": repo.commits[-1],
                                                          "ETag": f'"{_blob_oid(data)}"'})
            return self._send(404, {"error": f"stand-in does not serve GET {path}"})

    return Handler
