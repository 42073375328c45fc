import json
from decimal import Decimal

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from loyalty_platform.core import errors

MAX_BODY_BYTES = 64 * 1024


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class ExactJSONParser(JSONParser):
    """JSON with numbers read exactly: decimals become Decimal, never float; NaN and
    Infinity are refused; bodies are capped."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise errors.REQUEST_TOO_LARGE()
        try:
            return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise ParseError("invalid JSON") from error
