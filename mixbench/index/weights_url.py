"""What a card's weights URL says of its file: the file name, and the sha256 prefix that
torch.hub's convention (``name-<first hex digits of the file's sha256>.ext``) puts in it.

>>> weights_file("https://github.com/x/releases/download/v0.1/mixnet_l-5a9a2ed8.pth")
('mixnet_l-5a9a2ed8.pth', '5a9a2ed8')
>>> weights_file("https://huggingface.co/timm/mixnet_s.ft_in1k/resolve/main/model.safetensors")
('model.safetensors', None)
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlparse

_HASH_PREFIX = re.compile(r"-([a-f0-9]{6,})\.")


def weights_file(url: str | None) -> tuple[str | None, str | None]:
    """The file name a weights URL names and the sha256 prefix it carries (None where not)."""
    if not url:
        return None, None
    name = PurePosixPath(urlparse(url).path).name or None
    match = _HASH_PREFIX.search(name or "")
    return name, match.group(1) if match else None
