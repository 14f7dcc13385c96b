"""``first_model``: which model a Responses endpoint serves (``GET {base_url}/models``)."""

from __future__ import annotations

import httpx

from codeagent.errors import ConnectFailed

TIMEOUT_S = 10.0


async def first_model(base_url: str, *, api_key: str | None = None) -> str:
    """The first model the endpoint lists; raises ``ConnectFailed`` when it cannot say."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = base_url.rstrip("/") + "/models"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            reply = await client.get(url, headers=headers)
        data = reply.json().get("data") if reply.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise ConnectFailed(f"cannot list the models of {base_url}: {exc}") from exc
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise ConnectFailed(f"{url} answered {reply.status_code} with no model: name one (--model)")
    return str(data[0].get("id"))
