class DomainError(Exception):
    """A refused use case. `code` is the machine-readable error string the API returns;
    `extra` adds fields to the error body (challenge_id, remaining_attempts, retry_after...).
    The HTTP status is chosen in one place, the API's exception handler."""

    def __init__(self, code: str, **extra: object) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra
