"""The documented error body `{message, errorCode, errorCategoryKey}` and the texts we know."""

MSG_TOKEN_MISSING = "Token missing. Header should have token as value of ACCESSTOKEN"
MSG_INVALID_TOKEN = "Invalid token. Failure reason:Token validation failed due to unknown reason!"
MSG_BAD_CONNECTOR = "Dont have correct applicationId and secret in header!"

AUTH = "AuthException"
VALIDATION = "ValidationException"
NOT_FOUND = "NotFoundException"
THROTTLED = "ThrottlingException"
SERVER = "ServerException"


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str, category: str, headers=None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.category = category
        self.headers = headers or {}

    def body(self) -> dict:
        return {"message": self.message, "errorCode": self.error_code, "errorCategoryKey": self.category}


def bad_request(message: str) -> ApiError:
    return ApiError(400, "InvalidParameters", message, VALIDATION)


def invalid_token(message: str = MSG_INVALID_TOKEN) -> ApiError:
    return ApiError(401, "InvalidToken", message, AUTH)


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, "Unauthenticated", message, AUTH)


def forbidden(error_code: str, message: str) -> ApiError:
    return ApiError(403, error_code, message, AUTH)


def not_found(message: str = "Resource not found") -> ApiError:
    return ApiError(404, "NotFound", message, NOT_FOUND)


def rate_limited(retry_after: int, message: str) -> ApiError:
    return ApiError(429, "TooManyRequests", message, THROTTLED, {"Retry-After": str(retry_after)})
