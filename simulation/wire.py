"""Real boto3 clients whose HTTP exchange is answered in-process, the way botocore's Stubber works.

Each client gets two hooks on its own event emitter:

* ``before-parameter-build.<service>``: checks the request with botocore's `ParamValidator`
  (whatever the client's `parameter_validation` setting) and keeps the API parameters in the
  request context, which botocore hands on to every HTTP attempt of the call;
* ``before-send.<service>``: answers each HTTP attempt with an `AWSResponse` carrying the
  wire body of the service's protocol (RAM: rest-json, SageMaker: json 1.1, CloudFormation:
  query, whose answers are XML).

Because the answer comes at ``before-send``, botocore's own response parser, error parsing,
modeled exceptions and standard-mode retry loop all run for real. Only the backoff sleep is
changed: see `_install_simulated_backoff`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol
from xml.etree import ElementTree

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.client import BaseClient, ClientCreator
from botocore.config import Config
from botocore.configprovider import (
    BOTOCORE_DEFAUT_SESSION_VARIABLES,
    ConfigValueStore,
    ConstantProvider,
)
from botocore.exceptions import ParamValidationError
from botocore.loaders import Loader
from botocore.model import OperationModel, Shape
from botocore.retries import standard
from botocore.validate import ParamValidator

from simulation.fake_service import Caller, Response, ServiceError
from simulation.shape_validation import ResponseShapeViolation, output_violations

# The production clients' retry configuration (see the Lambdas' aws_edge modules).
PRODUCTION_RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8})

_PARAMS_KEY = "simulation_api_params"
_OPERATION_KEY = "simulation_operation_model"


class CallAnswerer(Protocol):
    """The world's side: run one HTTP attempt of a call and return the response members.

    Raises `ServiceError` for an error answer.
    """

    def answer(
        self, caller: Caller, operation: OperationModel, params: Mapping[str, Any]
    ) -> Response: ...


def create_client(
    service: str,
    caller: Caller,
    answerer: CallAnswerer,
    advance_clock: Callable[[timedelta], None],
    config: Config = PRODUCTION_RETRY_CONFIG,
) -> Any:
    client = shared_session().create_client(
        service,
        region_name=caller.region,
        aws_access_key_id="ASIASIMULATIONFAKEKEY",
        aws_secret_access_key="simulation-fake-secret",
        aws_session_token="simulation-fake-session-token",
        config=config,
    )
    service_event = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    events.register(f"before-parameter-build.{service_event}", _validate_and_keep_params)
    events.register(f"before-send.{service_event}", _WireResponder(caller, answerer).respond)
    _install_simulated_backoff(client, advance_clock)
    return client


@cache
def shared_session() -> botocore.session.Session:
    """One botocore session for every simulated client, blind to the user's environment.

    Every configuration variable is pinned to botocore's built-in default, so no
    AWS_* environment variable, profile, config or credentials file is read, and models are
    loaded from botocore's own data only (never ~/.aws/models). Loaded models are cached by
    the session's loader, so creating many clients stays cheap.
    """
    session = botocore.session.Session()
    pinned = {
        name: default for name, (_, _, default, _) in BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    # Endpoint URLs configured in the environment are ignored, and the config and credentials
    # files are empty ones, so no profile of the user's is read either.
    pinned |= {
        "ignore_configured_endpoint_urls": True,
        "config_file": os.devnull,
        "credentials_file": os.devnull,
    }
    session.register_component(
        "config_store",
        ConfigValueStore(mapping={name: ConstantProvider(value) for name, value in pinned.items()}),
    )
    session.register_component(
        "data_loader",
        Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False),
    )
    _reuse_client_classes(session)
    return session


def _reuse_client_classes(session: botocore.session.Session) -> None:
    """Build each service's client class once for this session, not once per client.

    botocore makes a new class for every client, one method per operation (SageMaker has
    ~400): about 10 ms of a simulated client's 16 ms, and a simulated rollout makes hundreds
    of clients of the same few services. The class holds only those methods (each calls
    `self._make_api_call`); everything per client (model, endpoint, event hooks, retry
    quota) lives on the instance, so sharing the class changes no behaviour. Clients of other
    sessions (the handler tests' production clients) are built by botocore as usual.
    """
    emitter = session.get_component("event_emitter")
    built: dict[tuple[str, str], type[BaseClient]] = {}
    create_client_class = ClientCreator._create_client_class

    def reused_client_class(creator: ClientCreator, service_name: str, service_model):
        if creator._event_emitter is not emitter:
            return create_client_class(creator, service_name, service_model)
        key = (service_name, service_model.api_version)
        if key not in built:
            built[key] = create_client_class(creator, service_name, service_model)
        return built[key]

    ClientCreator._create_client_class = reused_client_class


def _validate_and_keep_params(
    params: dict[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
) -> None:
    report = ParamValidator().validate(params, model.input_shape)
    if report.has_errors():
        raise ParamValidationError(report=report.generate_report())
    # The same dict object is serialized later, so members botocore adds after this hook
    # (idempotency tokens) are visible at send time too.
    context[_PARAMS_KEY] = params
    context[_OPERATION_KEY] = model


class _WireResponder:
    def __init__(self, caller: Caller, answerer: CallAnswerer) -> None:
        self.caller = caller
        self.answerer = answerer

    def respond(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        operation: OperationModel = request.context[_OPERATION_KEY]
        params = json.loads(json.dumps(request.context[_PARAMS_KEY], default=_json_default))
        protocol = operation.service_model.protocol
        try:
            members = self.answerer.answer(self.caller, operation, params)
        except ServiceError as error:
            return _error_response(request.url, protocol, error)
        violations = output_violations(operation.output_shape, members)
        if violations:
            raise ResponseShapeViolation(
                f"fake {operation.service_model.service_name}:{operation.name} built an "
                f"invalid response: " + "; ".join(violations)
            )
        if protocol == "query":
            return _xml_response(request.url, 200, _query_result(operation, members))
        body = _wire_value(operation.output_shape, members) if operation.output_shape else {}
        return _response(request.url, 200, protocol, body, {})


def _json_default(value: Any) -> Any:
    # Request timestamps (e.g. ListLineageGroups CreatedAfter) reach the fake as aware datetimes.
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot pass {type(value).__name__} to the fake")


def http_status(protocol: str, code: str) -> int:
    if code in {"ServerInternalException", "InternalFailure", "InternalServerError"}:
        return 500
    if code in {"ServiceUnavailableException", "ServiceUnavailable"}:
        return 503
    if protocol == "rest-json" and code == "ThrottlingException":
        return 429
    if protocol == "rest-json" and code == "AccessDeniedException":
        return 403
    # The json protocol (SageMaker) answers client errors, throttling included, with 400.
    return 400


def _error_response(url: str, protocol: str, error: ServiceError) -> AWSResponse:
    status = http_status(protocol, error.code)
    if protocol == "query":
        root = ElementTree.Element("ErrorResponse", xmlns=_QUERY_NAMESPACE)
        detail = ElementTree.SubElement(root, "Error")
        sender = "Receiver" if status >= 500 else "Sender"
        for name, text in (("Type", sender), ("Code", error.code), ("Message", error.message)):
            ElementTree.SubElement(detail, name).text = text
        ElementTree.SubElement(root, "RequestId").text = str(uuid.uuid4())
        return _xml_response(url, status, root)
    if protocol == "rest-json":
        return _response(
            url, status, protocol, {"message": error.message}, {"x-amzn-ErrorType": error.code}
        )
    return _response(url, status, protocol, {"__type": error.code, "message": error.message}, {})


def _response(
    url: str, status: int, protocol: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> AWSResponse:
    content = json.dumps(body).encode()
    content_type = "application/json" if protocol == "rest-json" else "application/x-amz-json-1.1"
    all_headers = {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "Content-Type": content_type,
        "Content-Length": str(len(content)),
        **headers,
    }
    return AWSResponse(url, status, all_headers, _RawBody(content))


# Any namespace parses; CloudFormation's own keeps the answers looking like the real ones.
_QUERY_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


def _query_result(operation: OperationModel, members: Mapping[str, Any]) -> ElementTree.Element:
    """`<Operation>Response><Operation>Result>…</…>` as the query protocol answers."""
    root = ElementTree.Element(f"{operation.name}Response", xmlns=_QUERY_NAMESPACE)
    output = operation.output_shape
    if output is not None:
        wrapper = output.serialization.get("resultWrapper", f"{operation.name}Result")
        _xml_members(ElementTree.SubElement(root, wrapper), output, members)
    metadata = ElementTree.SubElement(root, "ResponseMetadata")
    ElementTree.SubElement(metadata, "RequestId").text = str(uuid.uuid4())
    return root


def _xml_members(parent: ElementTree.Element, shape: Shape, value: Mapping[str, Any]) -> None:
    for name, member_value in value.items():
        member = shape.members[name]
        element = ElementTree.SubElement(parent, member.serialization.get("name", name))
        _xml_value(element, member, member_value)


def _xml_value(element: ElementTree.Element, shape: Shape, value: Any) -> None:
    if shape.type_name == "structure":
        _xml_members(element, shape, value)
    elif shape.type_name == "list":
        if shape.serialization.get("flattened"):
            raise NotImplementedError(f"flattened list {shape.name}")
        item_name = shape.member.serialization.get("name", "member")
        for item in value:
            _xml_value(ElementTree.SubElement(element, item_name), shape.member, item)
    elif shape.type_name == "map":
        for key, item in value.items():
            entry = ElementTree.SubElement(element, "entry")
            ElementTree.SubElement(entry, "key").text = str(key)
            _xml_value(ElementTree.SubElement(entry, "value"), shape.value, item)
    elif shape.type_name == "timestamp":
        element.text = value.isoformat()
    elif shape.type_name == "boolean":
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def _xml_response(url: str, status: int, root: ElementTree.Element) -> AWSResponse:
    content = ElementTree.tostring(root, encoding="utf-8")
    headers = {
        "x-amzn-RequestId": str(uuid.uuid4()),
        "Content-Type": "text/xml",
        "Content-Length": str(len(content)),
    }
    return AWSResponse(url, status, headers, _RawBody(content))


class _RawBody:
    """The part of urllib3's response that AWSResponse reads."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: Any) -> Any:
        yield self.content


def _wire_value(shape: Shape, value: Any) -> Any:
    """The JSON form of a validated value: wire member names, timestamps as epoch seconds."""
    if shape.type_name == "structure":
        wire: dict[str, Any] = {}
        for name, member_value in value.items():
            member = shape.members[name]
            if member.serialization.get("location"):
                raise NotImplementedError(
                    f"response member {name} travels in {member.serialization['location']}"
                )
            wire[member.serialization.get("name", name)] = _wire_value(member, member_value)
        return wire
    if shape.type_name == "list":
        return [_wire_value(shape.member, item) for item in value]
    if shape.type_name == "map":
        return {key: _wire_value(shape.value, item) for key, item in value.items()}
    if shape.type_name == "timestamp":
        return value.timestamp()
    return value


def _install_simulated_backoff(client: Any, advance_clock: Callable[[timedelta], None]) -> None:
    """Let standard-mode retries wait in simulated time instead of real time.

    botocore's endpoint sleeps (time.sleep) for whatever the ``needs-retry`` handler returns.
    Patching time.sleep would be global; instead the client's own standard retry handler is
    replaced by the same botocore handler (built by botocore's own `register_retry_handler`,
    so the retry rules, quota and attempt limit stay botocore's), wrapped so that its delay
    advances the world's clock and the endpoint is told to sleep 0 seconds. Nothing outside
    this client changes. The delay keeps botocore's random jitter (at most 20 s a retry).
    """
    service_event = client.meta.service_model.service_id.hyphenize()
    event_name = f"needs-retry.{service_event}"
    unique_id = f"retry-config-{service_event}"
    client.meta.events.unregister(event_name, unique_id=unique_id)
    max_attempts = client.meta.config.retries.get("total_max_attempts")
    retry_handler = standard.register_retry_handler(client, max_attempts=max_attempts)
    client.meta.events.unregister(event_name, unique_id=unique_id)

    def needs_retry(**kwargs: Any) -> float | None:
        delay = retry_handler.needs_retry(**kwargs)
        if delay is None:
            return None
        advance_clock(timedelta(seconds=delay))
        return 0

    client.meta.events.register(event_name, needs_retry, unique_id=unique_id)
