"""What a request calls for, and whether what came back is that (a response judged
against its request).

:func:`expected_outcome` reads a request the way a responder of a given
:class:`~harness.protocol.stun_checker.Profile` must (RFC 8489 §6.3, §9.1.3; RFC 8445
§7.3; RFC 3489 §8.1 for a classic server; RFC 8489 §11 / RFC 5389 §12 between the
two) and names the replies the RFCs allow, with the requirement and the clause.
:func:`judge_answers` holds the datagrams that came back (none: silence) to that
outcome and to the strict checker (:func:`~harness.protocol.stun_checker.check_stun`
with the request, so the cookie, all 12 transaction-ID bytes and the XOR are
compared against the request).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import AttributeValueError
from .stun_attributes import (
    KNOWN_TYPES,
    AttributeType,
    ErrorCode,
    comprehension_required,
    decode_value,
)
from .stun_checker import CLASSIC_TYPES, CheckReport, Profile, check_stun, mapped_addresses
from .stun_integrity import fingerprint, short_term_key
from .stun_message import Method
from .stun_wire import MAGIC_COOKIE, MessageClass, WireScan, scan
from .violations import Violation

MI = AttributeType.MESSAGE_INTEGRITY
MI256 = AttributeType.MESSAGE_INTEGRITY_SHA256
FP = AttributeType.FINGERPRINT
ICE_ONLY_TYPES = frozenset(
    {
        AttributeType.PRIORITY,
        AttributeType.USE_CANDIDATE,
        AttributeType.ICE_CONTROLLED,
        AttributeType.ICE_CONTROLLING,
    }
)
"""RFC 8445 §16.1: a plain RFC 8489 server need not know them."""


class Reply(StrEnum):
    """The class of what came back for one transaction."""

    SUCCESS = "success"
    E400 = "400"
    E401 = "401"
    E420 = "420"
    E487 = "487"
    OTHER_ERROR = "other error"
    SILENCE = "silence"

    @classmethod
    def of_error(cls, code: int) -> Reply:
        try:
            return cls(str(code))
        except ValueError:
            return cls.OTHER_ERROR


@dataclass(frozen=True)
class Credentials:
    """The responder's short-term credentials (RFC 8445 §7.2.2): its ufrag and password."""

    ufrag: str | None = None
    pwd: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a conformant responder does with one request, and the rule behind it."""

    accepted: frozenset[Reply]
    requirement: str
    clause: str
    why: str
    signed: bool | None = None
    """True: the answer must carry MESSAGE-INTEGRITY (an authenticated request, RFC 8489
    §9.1.3); False: it must not (400/401); None: the profile does not say."""
    unknown: tuple[int, ...] = ()
    """Attribute types a 420 must list in UNKNOWN-ATTRIBUTES."""
    classic: bool = False
    """An RFC 3489 exchange: MAPPED-ADDRESS, the cookie field echoed as part of the ID."""

    def describe(self) -> str:
        replies = " or ".join(sorted(r.value for r in self.accepted))
        return f"{replies} ({self.requirement}, {self.clause}: {self.why})"


def _silence(requirement: str, clause: str, why: str) -> Outcome:
    return Outcome(frozenset({Reply.SILENCE}), requirement, clause, why)


def _with_silence(outcome: Outcome, why: str) -> Outcome:
    return Outcome(
        outcome.accepted | {Reply.SILENCE},
        outcome.requirement,
        outcome.clause,
        f"{outcome.why}; {why}",
        outcome.signed,
        outcome.unknown,
        outcome.classic,
    )


def _malformed(wire: WireScan) -> list[str]:
    """Known attributes whose value is not what their type allows (STUN-15)."""
    assert wire.transaction_id is not None
    problems = []
    for raw in wire.attributes:
        if raw.type not in KNOWN_TYPES or raw.type in (MI, MI256, FP):
            continue
        try:
            decode_value(raw.type, raw.value, wire.transaction_id)
        except AttributeValueError as error:
            problems.append(error.message)
    return problems


def _unknown_required(wire: WireScan, known: frozenset[int]) -> tuple[int, ...]:
    """Comprehension-required types the responder does not know, before MESSAGE-INTEGRITY
    (attributes after it are ignored, RFC 8489 §14.5)."""
    found: list[int] = []
    for raw in wire.attributes:
        if raw.type in (MI, MI256):
            break
        if comprehension_required(raw.type) and raw.type not in known and raw.type not in found:
            found.append(raw.type)
    return tuple(found)


def _fingerprint_ok(wire: WireScan) -> bool | None:
    for raw in wire.attributes:
        if raw.type == FP:
            if len(raw.value) != 4:
                return False
            return int.from_bytes(raw.value, "big") == fingerprint(wire.data[: raw.offset])
    return None


def _integrity_ok(wire: WireScan, pwd: str) -> bool:
    from .stun_integrity import message_integrity_sha1, message_integrity_sha256

    key = short_term_key(pwd)
    sha256 = next((r for r in wire.attributes if r.type == MI256), None)
    if sha256 is not None:
        want = message_integrity_sha256(wire.data[: sha256.offset], key, len(sha256.value))
        return want == sha256.value
    sha1 = next((r for r in wire.attributes if r.type == MI), None)
    return sha1 is not None and message_integrity_sha1(wire.data[: sha1.offset], key) == sha1.value


def expected_outcome(
    request: bytes, profile: Profile, credentials: Credentials | None = None
) -> Outcome:
    """The replies a responder of ``profile`` may give ``request`` (SILENCE: none)."""
    wire = scan(bytes(request))
    kinds = {p.kind.value for p in wire.problems}
    if "too-short" in kinds or "top-bits" in kinds:
        return _silence("STUN-40", "RFC 8489 §6.3, §5", "not STUN: the first two bits are not 0")
    if kinds - {"bad-cookie"}:
        return _silence(
            "STUN-40",
            "RFC 8489 §6.3, §14",
            "not STUN: Message Length or the attribute list does not fit the datagram",
        )
    assert wire.message_type is not None
    assert wire.transaction_id is not None
    method, message_class = wire.method, wire.message_class
    cookie_ok = wire.cookie == MAGIC_COOKIE
    if profile is Profile.CLASSIC:
        return _classic(wire)
    if not cookie_ok:
        if profile is Profile.ULLC:
            return _silence("STUN-40", "RFC 8489 §6.3, §5", "wrong magic cookie (STUN-2)")
        if _post_3489(wire):
            # FINGERPRINT, or comprehension-required types RFC 3489 never had: an RFC 8489
            # message whose cookie is damaged, not an RFC 3489 one (RFC 8489 §11 can
            # only tell the two apart by those).
            return _silence(
                "STUN-40",
                "RFC 8489 §6.3, §5, §11",
                "wrong magic cookie on a message with RFC 8489 attributes: not STUN",
            )
        classic = _classic(wire)
        why = "an RFC 3489 request: an RFC 8489 agent may discard it (§6.3)"
        if profile is Profile.ICE:
            # An ICE agent speaks RFC 8489 only (RFC 8445 §7); if it does process the
            # request, it has no credentials: 400 (RFC 8489 §9.1.3).
            return Outcome(
                frozenset({Reply.SILENCE, Reply.E400}),
                "STUN-40",
                "RFC 8489 §6.3, RFC 8445 §7",
                f"{why}, or answer it 400 for lack of credentials",
                signed=False,
                classic=True,
            )
        return _with_silence(classic, f"{why} or answer it as RFC 8489 §11 / RFC 5389 §12.2 say")
    if message_class is MessageClass.INDICATION:
        return _silence("STUN-42", "RFC 8489 §6.3.2", "an indication gets no response")
    if message_class in (MessageClass.SUCCESS, MessageClass.ERROR):
        return _silence(
            "STUN-42", "RFC 8489 §6.3.3", "a response to no transaction of the responder's"
        )
    fp = _fingerprint_ok(wire)
    inner = _inner(wire, profile, credentials, method)
    if profile is Profile.RFC8489 and method == Method.BINDING:
        inner = _long_term_alternatives(wire, inner)
    if profile is Profile.ULLC and fp is not True:
        state = "missing" if fp is None else "wrong"
        return _silence("STUN-41", "RFC 8489 §6.3, §7; RFC 8445 §7.3", f"FINGERPRINT is {state}")
    if profile is Profile.ICE and fp is False:
        return _silence("STUN-41", "RFC 8489 §6.3, §7; RFC 8445 §7.3", "FINGERPRINT is wrong")
    if profile is Profile.ICE and fp is None:
        return _with_silence(
            inner, "ICE uses FINGERPRINT (RFC 8445 §7.3), so a check without one may be discarded"
        )
    if fp is False:
        return _with_silence(inner, "a wrong FINGERPRINT may also be discarded (RFC 8489 §7)")
    return inner


def _long_term_alternatives(wire: WireScan, inner: Outcome) -> Outcome:
    """A plain RFC 8489 server may protect Binding with the long-term mechanism
    (RFC 8489 §9.2.4): an unsigned request gets a 401 challenge (with REALM and NONCE),
    a request signed without REALM/NONCE a 400 or 401. The profile does not know which
    mechanism the server uses, so those answers are right too."""
    if inner.accepted <= {Reply.SILENCE} or (Reply.E400 in inner.accepted and not inner.unknown):
        return inner
    types = {r.type for r in wire.attributes}
    signed = bool(types & {MI, MI256})
    extra = {Reply.E400, Reply.E401} if signed else {Reply.E401}
    return Outcome(
        inner.accepted | extra,
        inner.requirement,
        inner.clause + ", §9.2.4",
        inner.why + "; or the long-term mechanism's challenge (401 with REALM and NONCE)",
        inner.signed,
        inner.unknown,
        inner.classic,
    )


def _inner(
    wire: WireScan, profile: Profile, credentials: Credentials | None, method: int | None
) -> Outcome:
    if method != Method.BINDING:
        if profile is Profile.ULLC:
            return _silence("STUN-42", "RFC 8489 §6.3", "only Binding is supported")
        return Outcome(
            frozenset({Reply.SILENCE, Reply.E400}),
            "STUN-42",
            "RFC 8489 §6.3",
            "an unsupported method is discarded (or refused 400)",
            signed=False,
        )
    malformed = _malformed(wire)
    if (
        malformed
        and profile is Profile.RFC8489
        and all(_attribute_of(m) in ICE_ONLY_NAMES for m in malformed)
    ):
        # A plain server need not know the ICE attributes: it may answer 420 for the
        # comprehension-required ones or ignore the optional ones.
        return Outcome(
            frozenset({Reply.E400, Reply.E420, Reply.SUCCESS}),
            "STUN-43",
            "RFC 8489 §6.3.1, RFC 8445 §16.1",
            f"malformed ICE attribute ({malformed[0]}) sent to a plain STUN server",
        )
    if malformed:
        return Outcome(
            frozenset({Reply.E400}),
            "STUN-43",
            "RFC 8489 §6.3.1, §14",
            f"a known attribute is malformed ({malformed[0]}): 400 Bad Request",
            signed=False,
        )
    authenticate = profile in (Profile.ULLC, Profile.ICE)
    signed: bool | None = None
    if authenticate:
        types = {r.type for r in wire.attributes}
        if AttributeType.USERNAME not in types or not types & {MI, MI256}:
            missing = "USERNAME" if AttributeType.USERNAME not in types else "MESSAGE-INTEGRITY"
            return Outcome(
                frozenset({Reply.E400}),
                "STUN-43",
                "RFC 8489 §9.1.3, RFC 8445 §7.3",
                f"credentials are required and the request has no {missing}",
                signed=False,
            )
        username = next(r.value for r in wire.attributes if r.type == AttributeType.USERNAME)
        ufrag = username.decode("utf-8", "replace").partition(":")[0]
        ours = credentials is not None and credentials.ufrag is not None
        if ours and credentials is not None and ufrag != credentials.ufrag:
            if profile is Profile.ULLC:
                return _silence("STUN-44", "RFC 8445 §7.3", "no session holds that bot ufrag")
            return Outcome(
                frozenset({Reply.E401, Reply.SILENCE}),
                "STUN-45",
                "RFC 8489 §9.1.3, RFC 8445 §7.3",
                f"USERNAME names ufrag {ufrag!r}, not the responder's: 401 (or discarded)",
                signed=False,
            )
        if credentials is not None and credentials.pwd is not None:
            if not _integrity_ok(wire, credentials.pwd):
                return Outcome(
                    frozenset({Reply.E401}),
                    "STUN-45",
                    "RFC 8489 §9.1.3",
                    "MESSAGE-INTEGRITY does not verify with the responder's password",
                    signed=False,
                )
            signed = True
    unknown = _unknown_required(wire, KNOWN_TYPES)
    if unknown:
        return Outcome(
            frozenset({Reply.E420}),
            "STUN-46",
            "RFC 8489 §6.3.1, §14.13",
            "unknown comprehension-required attribute(s) "
            + ", ".join(f"0x{t:04X}" for t in unknown)
            + ": 420 listing them in UNKNOWN-ATTRIBUTES",
            signed=signed,
            unknown=unknown,
        )
    if profile is Profile.RFC8489 and _unknown_required(wire, KNOWN_TYPES - ICE_ONLY_TYPES):
        # PRIORITY and USE-CANDIDATE are comprehension-required, and a plain server
        # need not implement ICE: 420, or a success if it knows them.
        return Outcome(
            frozenset({Reply.SUCCESS, Reply.E420}),
            "STUN-46",
            "RFC 8489 §6.3.1, RFC 8445 §16.1",
            "ICE attributes sent to a plain STUN server: 420 if it does not know them",
        )
    types = {r.type for r in wire.attributes}
    if authenticate and AttributeType.ICE_CONTROLLED in types:
        if profile is Profile.ULLC:
            return Outcome(
                frozenset({Reply.E487}),
                "STUN-47",
                "RFC 8445 §7.3.1.1, §6.1.1",
                "the lite bot is never controlling",
                signed=signed,
            )
        return Outcome(
            frozenset({Reply.E487, Reply.SUCCESS}),
            "STUN-47",
            "RFC 8445 §7.3.1.1",
            "both sides controlled: 487 or switch roles by the tiebreakers",
            signed=signed,
        )
    if profile is Profile.ICE and AttributeType.ICE_CONTROLLING in types:
        # A full agent may hold the controlling role (it may have switched to it after an
        # earlier conflict): then its tiebreaker decides between 487 and a success.
        return Outcome(
            frozenset({Reply.SUCCESS, Reply.E487}),
            "STUN-48",
            "RFC 8489 §6.3.1.1, RFC 8445 §7.3, §7.3.1.1",
            "a signed Binding success with XOR-MAPPED-ADDRESS, or 487 from a controlling "
            "agent whose tiebreaker is larger",
            signed=signed,
        )
    return Outcome(
        frozenset({Reply.SUCCESS}),
        "STUN-48",
        "RFC 8489 §6.3.1.1, §9.1.3, RFC 8445 §7.3",
        "a Binding success with XOR-MAPPED-ADDRESS"
        + (", signed with the responder's password" if signed else ""),
        signed=signed,
    )


ICE_ONLY_NAMES = frozenset({"PRIORITY", "USE-CANDIDATE", "ICE-CONTROLLED", "ICE-CONTROLLING"})


def _attribute_of(message: str) -> str:
    return message.split(" ", 1)[0]


def _post_3489(wire: WireScan) -> bool:
    return any(
        r.type == FP or (comprehension_required(r.type) and r.type not in CLASSIC_TYPES)
        for r in wire.attributes
    )


def _classic(wire: WireScan) -> Outcome:
    """RFC 3489 §8.1: unknown attributes up to 0x7FFF get 420, else a Binding Response
    with MAPPED-ADDRESS echoing the 128-bit transaction ID."""
    if any(len(r.value) % 4 for r in wire.attributes):
        # RFC 3489 §11.1 has no padding: its attribute values are multiples of 4, so a
        # value of another length makes the rest of the list unparseable there.
        return Outcome(
            frozenset({Reply.SILENCE, Reply.E400}),
            "STUN-40",
            "RFC 3489 §11.1, §11.2",
            "an attribute length that is no multiple of 4 does not parse as RFC 3489",
            classic=True,
        )
    if wire.method != Method.BINDING or wire.message_class is not MessageClass.REQUEST:
        return Outcome(
            frozenset({Reply.SILENCE, Reply.E400}),
            "STUN-42",
            "RFC 3489 §8.1",
            "RFC 3489 answers Binding Requests only",
            classic=True,
        )
    unknown = tuple(
        dict.fromkeys(
            r.type for r in wire.attributes if r.type <= 0x7FFF and r.type not in CLASSIC_TYPES
        )
    )
    if unknown:
        return Outcome(
            frozenset({Reply.E420}),
            "STUN-46",
            "RFC 3489 §8.1.1",
            "attributes RFC 3489 does not know below 0x7FFF: 420 listing them",
            unknown=unknown,
            classic=True,
        )
    return Outcome(
        frozenset({Reply.SUCCESS}),
        "STUN-48",
        "RFC 3489 §8.1.2, §11.2.1",
        "a Binding Response with MAPPED-ADDRESS",
        classic=True,
    )


def classify(report: CheckReport) -> Reply:
    """The reply class of one parsed answer."""
    if report.message_class is MessageClass.SUCCESS:
        return Reply.SUCCESS
    if report.message_class is MessageClass.ERROR:
        for attr in report.attributes:
            if attr.type == AttributeType.ERROR_CODE and isinstance(attr.value, ErrorCode):
                return Reply.of_error(attr.value.code)
    return Reply.OTHER_ERROR


@dataclass(frozen=True)
class Judgement:
    """One exchange judged: what the request called for, what came, every violation."""

    outcome: Outcome
    reply: Reply
    violations: tuple[Violation, ...]
    reports: tuple[CheckReport, ...] = field(default=())
    ignored: int = 0
    """Requests the responder sent meanwhile (its own checks), which are no answer."""

    @property
    def conformant(self) -> bool:
        return not self.violations

    def explain(self) -> str:
        lines = [f"got {self.reply}; the request calls for {self.outcome.describe()}"]
        lines += [f"  - {v}" for v in self.violations]
        return "\n".join(lines)


def judge_answers(
    request: bytes,
    answers: Sequence[bytes],
    *,
    profile: Profile,
    credentials: Credentials | None = None,
    observed: tuple[str, int] | Collection[tuple[str, int]] | None = None,
) -> Judgement:
    """Judge the datagrams that came back for ``request`` (empty: silence).

    ``observed``: the client's address as the responder sees it, or several candidates
    (behind a relay hop, any of its flow sockets): the mapped address must be one.
    """
    candidates = _candidates(observed)
    single = candidates[0] if len(candidates) == 1 else None
    outcome = expected_outcome(request, profile, credentials)
    out: list[Violation] = []
    reports: list[CheckReport] = []
    replies: list[Reply] = []
    ignored = 0
    pwd = credentials.pwd if credentials is not None else None
    for answer in answers:
        head = scan(answer)
        if head.message_class is MessageClass.REQUEST and head.data[8:20] != request[8:20]:
            ignored += 1  # the responder's own (triggered) check, not an answer
            continue
        report = check_stun(
            answer,
            request=request,
            password=pwd if outcome.signed else None,
            observed=single,
            profile=profile,
        )
        reports.append(report)
        if len(candidates) > 1:
            out.extend(_mapped_among(answer, request, report, candidates, outcome.classic))
        reply = classify(report)
        replies.append(reply)
        out.extend(report.violations)
        out.extend(_against_outcome(report, reply, outcome))
    reply = replies[0] if replies else Reply.SILENCE
    if len(set(replies)) > 1:
        out.append(
            Violation.of(
                "STUN-49", f"one transaction got different answers: {sorted(set(replies))}"
            )
        )
    if reply not in outcome.accepted:
        out.append(
            Violation(
                outcome.requirement,
                outcome.clause,
                f"answered {reply}; the request calls for "
                + " or ".join(sorted(r.value for r in outcome.accepted))
                + f" ({outcome.why})",
            )
        )
    return Judgement(outcome, reply, tuple(out), tuple(reports), ignored)


def _candidates(
    observed: tuple[str, int] | Collection[tuple[str, int]] | None,
) -> list[tuple[str, int]]:
    if observed is None:
        return []
    if isinstance(observed, tuple) and len(observed) == 2 and isinstance(observed[1], int):
        return [(str(observed[0]), observed[1])]
    return [(str(a[0]), int(a[1])) for a in observed]


def _mapped_among(
    answer: bytes,
    request: bytes,
    report: CheckReport,
    candidates: list[tuple[str, int]],
    classic: bool,
) -> list[Violation]:
    wanted = {(ipaddress.ip_address(h), p) for h, p in candidates}
    out = []
    for attr, value in mapped_addresses(report.attributes, scan(answer), scan(request), classic):
        if (ipaddress.ip_address(value.host), value.port) not in wanted:
            out.append(
                Violation.of(
                    "STUN-13",
                    f"{attr.name} is {value}, none of {sorted(candidates)}",
                    offset=attr.offset,
                    attribute=attr.name,
                )
            )
    return out


def _against_outcome(report: CheckReport, reply: Reply, outcome: Outcome) -> list[Violation]:
    if reply not in outcome.accepted:
        return []  # the wrong reply is reported once, by judge_answers
    out: list[Violation] = []
    signed = any(a.type in (MI, MI256) for a in report.attributes)
    if reply in (Reply.E400, Reply.E401) and signed:
        out.append(
            Violation(
                "STUN-50",
                "RFC 8489 §9.1.3",
                f"a {reply} answers an unauthenticated request and carries MESSAGE-INTEGRITY",
                attribute="MESSAGE-INTEGRITY",
            )
        )
    if outcome.signed and reply not in (Reply.E400, Reply.E401) and not signed:
        out.append(
            Violation(
                "STUN-48" if reply is Reply.SUCCESS else "STUN-50",
                "RFC 8489 §9.1.3, RFC 8445 §7.3",
                f"the {reply} answers an authenticated request without MESSAGE-INTEGRITY",
                attribute="MESSAGE-INTEGRITY",
            )
        )
    challenge = outcome.signed is None and "§9.2.4" in outcome.clause
    if reply is Reply.E401 and challenge:
        types = {a.type for a in report.attributes}
        for needed in (AttributeType.REALM, AttributeType.NONCE):
            if needed not in types:
                out.append(
                    Violation(
                        "STUN-50",
                        "RFC 8489 §9.2.4",
                        f"a long-term 401 challenge without {needed.name}",
                        attribute=needed.name,
                    )
                )
    if reply is Reply.E420:
        listed: set[int] = set()
        for attr in report.attributes:
            if attr.type == AttributeType.UNKNOWN_ATTRIBUTES and isinstance(attr.value, tuple):
                listed = set(attr.value)
        missing = [t for t in outcome.unknown if t not in listed]
        if missing:
            out.append(
                Violation(
                    "STUN-46",
                    outcome.clause,
                    "UNKNOWN-ATTRIBUTES does not list " + ", ".join(f"0x{t:04X}" for t in missing),
                    attribute="UNKNOWN-ATTRIBUTES",
                )
            )
    return out
