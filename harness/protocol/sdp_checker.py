"""Every profile violation of a ULLC session description, with line numbers (specs/sdp.md)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from .errors import CredentialError, SdpParseError
from .ice import PWD_LENGTH, UFRAG_LENGTH, IceCredentials, validate_ice_token
from .sdp import (
    PROTO,
    CallDescription,
    Candidate,
    Codec,
    MediaSection,
    Role,
    Sdp,
    SdpLine,
    parse_candidate,
    parse_sdp,
)
from .violations import Violation

_FINGERPRINT = re.compile(r"sha-256 ([0-9A-F]{2}(:[0-9A-F]{2}){31})")
_MID = re.compile(r"[!#$%&'*+\-.^_`{|}~0-9A-Za-z]{1,32}")
_RTPMAP = re.compile(r"(\d+) ([^/\s]+)/(\d+)(?:/(\d+))?")


def _v(
    ident: str, message: str, line: SdpLine | int | None, attribute: str | None = None
) -> Violation:
    number = line.number if isinstance(line, SdpLine) else line
    return Violation.of(ident, message, line=number, attribute=attribute)


def check_sdp(text: str, role: Role) -> list[Violation]:
    """All violations of the profile for ``role``; a grammar error stops at SDP-1."""
    try:
        sdp = parse_sdp(text)
    except SdpParseError as error:
        return [_v("SDP-1", error.message, error.line)]
    out: list[Violation] = []
    if not sdp.crlf:
        out.append(_v("SDP-1", "lines must end with CRLF", 1))
    out.extend(_session(sdp))
    if len(sdp.media) != 1:
        where = sdp.media[1].m if len(sdp.media) > 1 else None
        out.append(_v("SDP-3", f"{len(sdp.media)} m-lines; the profile has exactly one", where))
    if not sdp.media:
        return out
    media = sdp.media[0]
    out.extend(_media_line(sdp, media))
    out.extend(_ice(sdp, media, role))
    out.extend(_dtls(sdp, media, role))
    out.extend(_candidates(media, role))
    out.extend(_bundle(media))
    return out


def _session(sdp: Sdp) -> Iterator[Violation]:
    v, o, s, t = sdp.first("v"), sdp.first("o"), sdp.first("s"), sdp.first("t")
    if v is None or v.value != "0":
        yield _v("SDP-2", "v= must be 0", v or 1)
    if o is None:
        yield _v("SDP-2", "o= is missing", 1)
    else:
        fields = o.value.split(" ")
        if (
            len(fields) != 6
            or not fields[1].isdigit()
            or not fields[2].isdigit()
            or fields[3] != "IN"
            or fields[4] not in ("IP4", "IP6")
        ):
            yield _v("SDP-2", f"o={o.value!r} is not '<user> <id> <version> IN IP4|IP6 <addr>'", o)
    if s is None or not s.value.strip():
        yield _v("SDP-2", "s= is missing or empty (use 's=-')", s or 1)
    if t is None or t.value != "0 0":
        yield _v("SDP-2", "t= must be '0 0' (an unbounded session)", t or 1)


def _media_line(sdp: Sdp, media: MediaSection) -> Iterator[Violation]:
    fields = media.m.value.split(" ")
    if len(fields) < 4:
        yield _v("SDP-3", "m= needs '<media> <port> <proto> <fmt> ...'", media.m)
        return
    kind, port, proto, fmts = fields[0], fields[1], fields[2], fields[3:]
    if kind != "audio":
        yield _v("SDP-3", f"media is {kind!r}, the profile carries audio", media.m)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        yield _v("SDP-3", f"port {port!r} is not 1..65535 (0 would reject the stream)", media.m)
    if proto != PROTO:
        yield _v("SDP-3", f"proto {proto!r}, expected {PROTO}", media.m)
    mapped = {}
    for line in media.attributes("rtpmap"):
        match = _RTPMAP.fullmatch(line.attribute[1] or "") if line.attribute else None
        if match is None:
            yield _v("SDP-5", "a=rtpmap is not '<pt> <name>/<rate>[/<channels>]'", line, "rtpmap")
        else:
            mapped[int(match[1])] = line
    for fmt in fmts:
        if not fmt.isdigit() or int(fmt) > 127:
            yield _v("SDP-3", f"payload type {fmt!r} is not 0..127", media.m)
        elif int(fmt) >= 96 and int(fmt) not in mapped:
            yield _v("SDP-5", f"dynamic payload type {fmt} has no a=rtpmap", media.m, "rtpmap")
    connections = [ln for ln in (*sdp.session, *media.lines) if ln.type == "c"]
    if not connections:
        yield _v("SDP-4", "no c= line at session or media level", media.m)
    for line in connections:
        parts = line.value.split(" ")
        ok = len(parts) == 3 and parts[0] == "IN" and parts[1] in ("IP4", "IP6")
        if ok:
            try:
                ipaddress.ip_address(parts[2])
            except ValueError:
                ok = False
        if not ok:
            yield _v("SDP-4", f"c={line.value!r} is not 'IN IP4|IP6 <address>'", line)


def _single(sdp: Sdp, media: MediaSection, name: str) -> tuple[list[SdpLine], str | None]:
    lines = [*sdp.session_attributes(name), *media.attributes(name)]
    values = {ln.attribute[1] for ln in lines if ln.attribute}
    value = next(iter(values)) if len(values) == 1 else None
    return lines, value


def _ice(sdp: Sdp, media: MediaSection, role: Role) -> Iterator[Violation]:
    for name, ident, bounds in (
        ("ice-ufrag", "SDP-6", UFRAG_LENGTH),
        ("ice-pwd", "SDP-7", PWD_LENGTH),
    ):
        lines, _ = _single(sdp, media, name)
        if len(lines) != 1:
            yield _v(
                ident,
                f"{len(lines)} a={name} lines; exactly one",
                lines[1] if lines else media.m,
                name,
            )
        for line in lines:
            try:
                validate_ice_token((line.attribute or ("", ""))[1] or "", f"a={name}", bounds)
            except CredentialError as error:
                yield _v(ident, error.message, line, name)
    session_lite = sdp.session_attributes("ice-lite")
    media_lite = media.attributes("ice-lite")
    for line in media_lite:
        yield _v("SDP-8", "a=ice-lite is a session-level attribute", line, "ice-lite")
    if role is Role.BOT and not session_lite:
        yield _v("SDP-8", "the bot is ICE-lite: a=ice-lite is missing", 1, "ice-lite")
    if role is Role.CLIENT:
        for line in session_lite:
            yield _v("SDP-8", "the client is a full ICE agent: no a=ice-lite", line, "ice-lite")


def _dtls(sdp: Sdp, media: MediaSection, role: Role) -> Iterator[Violation]:
    lines, _ = _single(sdp, media, "fingerprint")
    if not lines:
        yield _v("SDP-9", "a=fingerprint is missing", media.m, "fingerprint")
    for line in lines:
        value = (line.attribute or ("", ""))[1] or ""
        if not _FINGERPRINT.fullmatch(value):
            yield _v(
                "SDP-9",
                "a=fingerprint must be 'sha-256' and 32 uppercase hex bytes joined by ':'",
                line,
                "fingerprint",
            )
    setups, setup = _single(sdp, media, "setup")
    want = "actpass" if role is Role.CLIENT else "passive"
    if not setups:
        yield _v("SDP-10", f"a=setup is missing (the {role.value} uses {want})", media.m, "setup")
    elif setup != want:
        yield _v(
            "SDP-10", f"a=setup:{setup} on the {role.value}, expected {want}", setups[0], "setup"
        )


def _candidates(media: MediaSection, role: Role) -> Iterator[Violation]:
    parsed: list[tuple[SdpLine, Candidate]] = []
    for line in media.attributes("candidate"):
        try:
            parsed.append(
                (line, parse_candidate((line.attribute or ("", ""))[1] or "", line.number))
            )
        except SdpParseError as error:
            yield _v("SDP-11", error.message.split(": ", 1)[-1], line, "candidate")
    if role is Role.BOT and len(media.attributes("candidate")) != 1:
        yield _v("SDP-12", "the bot description has exactly one candidate", media.m, "candidate")
    if role is Role.CLIENT and not media.attributes("candidate"):
        yield _v(
            "SDP-12", "the client description has at least one candidate", media.m, "candidate"
        )
    for line, cand in parsed:
        if cand.component != 1:
            yield _v("SDP-12", "rtcp-mux: component 1 only", line, "candidate")
        if cand.transport.upper() != "UDP":
            yield _v(
                "SDP-12", f"transport {cand.transport}; ULLC checks run over UDP", line, "candidate"
            )
        if role is Role.BOT and cand.type != "host":
            yield _v("SDP-12", "an ICE-lite bot has host candidates only", line, "candidate")
        try:
            ipaddress.ip_address(cand.address)
        except ValueError:
            yield _v("SDP-11", f"address {cand.address!r} is not an IP address", line, "candidate")
        if cand.type in ("srflx", "prflx", "relay") and (
            cand.related_address is None or cand.related_port is None
        ):
            yield _v("SDP-11", f"a {cand.type} candidate needs raddr and rport", line, "candidate")


def _bundle(media: MediaSection) -> Iterator[Violation]:
    mids = media.attributes("mid")
    if len(mids) != 1:
        yield _v("SDP-13", f"{len(mids)} a=mid lines in the m-section; exactly one", media.m, "mid")
    for line in mids:
        if not _MID.fullmatch((line.attribute or ("", ""))[1] or ""):
            yield _v("SDP-13", "a=mid must be a 1..32 character token", line, "mid")
    if not media.attributes("rtcp-mux"):
        yield _v("SDP-14", "a=rtcp-mux is missing", media.m, "rtcp-mux")


def check_sdp_pair(client_text: str, bot_text: str) -> list[Violation]:
    """Rules between the two pre-generated descriptions (SDP-15) plus each one's own."""
    out = check_sdp(client_text, Role.CLIENT) + check_sdp(bot_text, Role.BOT)
    try:
        client = parse_description(client_text, Role.CLIENT)
        bot = parse_description(bot_text, Role.BOT)
    except SdpParseError:
        return out
    if client.credentials.ufrag == bot.credentials.ufrag:
        out.append(_v("SDP-15", "client and bot share an ice-ufrag", None, "ice-ufrag"))
    if client.credentials.pwd == bot.credentials.pwd:
        out.append(_v("SDP-15", "client and bot share an ice-pwd", None, "ice-pwd"))
    if client.mid != bot.mid:
        out.append(_v("SDP-15", f"mid {client.mid!r} vs {bot.mid!r}", None, "mid"))
    return out


def parse_description(text: str, role: Role) -> CallDescription:
    """A profile-valid description as a :class:`CallDescription`.

    Raises :class:`SdpParseError` for the first violation, with its line number.
    """
    violations = check_sdp(text, role)
    if violations:
        first = violations[0]
        raise SdpParseError(
            f"{first.requirement}: {first.message}",
            line=first.line,
            hint=f"run `ullc-harness lint-sdp FILE --role {role.value}` to list every problem",
        )
    sdp = parse_sdp(text)
    media = sdp.media[0]

    def value(name: str) -> str:
        lines = [*sdp.session_attributes(name), *media.attributes(name)]
        return (lines[0].attribute or ("", ""))[1] or ""

    fields = media.m.value.split(" ")
    codecs = []
    for line in media.attributes("rtpmap"):
        match = _RTPMAP.fullmatch((line.attribute or ("", ""))[1] or "")
        if match:
            channels = int(match[4]) if match[4] else None
            codecs.append(Codec(int(match[1]), match[2], int(match[3]), channels))
    connection = next(ln for ln in (*media.lines, *sdp.session) if ln.type == "c")
    origin = sdp.first("o")
    return CallDescription(
        role,
        IceCredentials(value("ice-ufrag"), value("ice-pwd")),
        value("fingerprint").split(" ", 1)[1],
        tuple(
            parse_candidate((ln.attribute or ("", ""))[1] or "", ln.number)
            for ln in media.attributes("candidate")
        ),
        mid=value("mid"),
        port=int(fields[1]),
        connection_address=connection.value.split(" ")[2],
        session_id=int(origin.value.split(" ")[1]) if origin else 0,
        codecs=tuple(codecs),
    )
