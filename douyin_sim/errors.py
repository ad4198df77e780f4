"""Errors: the gateway's coded answers, and the control API's plain ones."""

from __future__ import annotations

from typing import Any

MESSAGES = {
    10000: "success",
    20000: "服务不可用",
    40003: "非法的参数",
    40004: "非法的参数",
    50002: "业务处理失败",
    60000: "调用频率超限",
}


class ApiError(Exception):
    """A gateway answer other than success: HTTP 200 with `code` != 10000."""

    def __init__(self, code: int, sub_code: str, sub_msg: str, data: Any = None):
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.code = code
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.data = data if data is not None else {}


def parameter_invalid(message: str) -> ApiError:
    return ApiError(40004, "isv.parameter-invalid", message)


def signature_invalid(message: str = "签名无效") -> ApiError:
    return ApiError(40003, "isv.signature-invalid", message)


def token_expired(message: str = "access_token已过期") -> ApiError:
    return ApiError(40003, "isv.access-token-expired", message)


def timestamp_invalid(message: str) -> ApiError:
    return ApiError(40003, "isv.timestamp-invalid", message)


def wrong_status(message: str, data: Any = None) -> ApiError:
    return ApiError(50002, "isv.business-failed:20309541", f"售后状态错误：{message}", data)


def manual_only(message: str, data: Any = None) -> ApiError:
    return ApiError(50002, "isv.business-failed:11001", message, data)


def invalid_aftersale(message: str, data: Any = None) -> ApiError:
    return ApiError(20000, "isp.service-error:10000", f"存在无效的售后单：{message}", data)


def rate_limited(qps: int) -> ApiError:
    return ApiError(60000, "isv.rate-limited", f"调用频率超过限制（{qps} 次/秒）")


class ControlError(Exception):
    """A refused control-API request: HTTP 400 (or 404) with {"error": message}."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status
        self.message = message
