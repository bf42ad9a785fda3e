"""Rules of `parcelfsm.tracking` (normalizer, S10 numbers) and `parcelfsm.feeds` (payloads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcelfsm.errors import ValidationError
from parcelfsm.feeds import (
    AFTERSHIP_REFINE,
    AFTERSHIP_TAGS,
    CAINIAO_ACTION_CODES,
    Checkpoint,
    detect_format,
    parse_feed,
)
from parcelfsm.tracking import (
    PHRASES,
    RULES,
    STATUSES,
    TrackCheck,
    check_tracking_number,
    is_s10_shaped,
    normalize,
    normalize_key,
    s10_check_digit,
    validate_tracking_number,
)

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"

# --- Normalizer: data ---------------------------------------------------------------------

SEED_TEXTS = [
    ("Clearing Customs", "arrived_at_customs"),  # [002]
    ("Held At Customs", "customs_held"),  # [002]
    ("Customs clearance failed", "customs_failed"),  # [000]
    ("Customs clearance failed.", "customs_failed"),  # [000]
    ("Customs Cleared", "customs_cleared"),  # [001]
    (
        "Arrived at the distribution center in place of delivery",
        "in_transit",
    ),  # The package does not arrive from aliexpress what to do
    ("Arrived at the distribution center in place delivery", "in_transit"),  # [001]
    ("Sending is expected", "no_info"),  # [003]
    ("Tracking number not available", "no_info"),  # [004]
    ("Delivery canceled", "delivery_canceled"),  # [003]
    ("Shipment cancelled", "delivery_canceled"),  # [003]
    ("Delivered", "delivered"),
    ("Returned to sender", "returned"),  # [002] "Order Returned to Sender"
    ("Order Returned to Sender", "returned"),
    ("Held at customs", "customs_held"),
    ("Seized by customs", "seized"),  # [002] "Customs may seize the item"
]

AGGREGATOR_TEXTS = [
    # no information yet
    ("Not found", "no_info"),
    ("Pending", "no_info"),
    ("No information yet", "no_info"),
    ("No tracking information available at this time", "no_info"),
    ("Tracking information not yet available", "no_info"),
    ("No information received", "no_info"),
    ("No information received from carrier", "no_info"),
    # the carrier was told
    ("Info received", "info_received"),
    ("Information received", "info_received"),
    ("Shipping information received", "info_received"),
    ("Electronic information submitted", "info_received"),
    ("Electronic information submitted by shipper", "info_received"),
    ("Label created", "info_received"),
    ("Shipping label created", "info_received"),
    ("Shipper created a label, UPS has not received the package yet.", "info_received"),
    ("Shipment information sent to FedEx", "info_received"),
    ("Pre-Shipment Info Sent to USPS, USPS Awaiting Item", "info_received"),
    # moving
    ("Accepted by carrier", "in_transit"),
    ("Accepted at USPS Origin Facility", "in_transit"),
    ("Acceptance", "in_transit"),
    ("Package picked up", "in_transit"),
    ("Picked up by courier", "in_transit"),
    ("In transit", "in_transit"),
    ("In Transit to Next Facility", "in_transit"),
    ("Departed facility", "in_transit"),
    ("Departed from facility in SHENZHEN", "in_transit"),
    ("Arrived at facility", "in_transit"),
    ("Arrival scan", "in_transit"),
    ("Departure scan", "in_transit"),
    ("Processed through facility", "in_transit"),
    ("Processing at sorting center", "in_transit"),
    ("Hub processing", "in_transit"),
    ("Arrived at sorting center", "in_transit"),
    ("Arrived at sorting center in Moscow", "in_transit"),
    ("Departed from sorting center", "in_transit"),
    ("Handed over to airline", "in_transit"),
    ("Flight departed", "in_transit"),
    ("Leaving from departure country/region", "in_transit"),
    ("Departed from departure country/region", "in_transit"),
    ("Departure from outward office of exchange", "in_transit"),
    ("Arrival at inward office of exchange", "in_transit"),
    ("Arrived at destination country", "in_transit"),
    ("Arrived at destination country/region", "in_transit"),
    ("Arrived at linehaul office", "in_transit"),
    ("Received by local delivery company", "in_transit"),
    ("Handed over to local delivery company", "in_transit"),
    ("Arrived at delivery facility", "in_transit"),
    ("Arrived at post office of origin", "in_transit"),
    ("Export customs clearance started", "in_transit"),
    ("Export customs clearance complete", "in_transit"),
    # customs
    ("Arrived at customs", "arrived_at_customs"),
    ("Parcel handed over to customs", "arrived_at_customs"),
    ("Item sent to customs", "arrived_at_customs"),
    ("Item presented to customs", "arrived_at_customs"),
    ("Import customs clearance started", "arrived_at_customs"),
    ("Import clearance started", "arrived_at_customs"),
    ("Customs clearance started", "arrived_at_customs"),
    ("Customs clearance in progress", "arrived_at_customs"),
    ("Held by customs", "customs_held"),
    ("Held by import customs", "customs_held"),
    ("Detained by customs", "customs_held"),
    ("Delayed in customs", "customs_held"),
    ("Customs inspection", "customs_held"),
    ("Customs clearance delay", "customs_held"),
    ("Clearance delay - Import", "customs_held"),
    ("Awaiting payment of customs duty", "customs_held"),
    ("Duties and taxes due", "customs_held"),
    ("Customs duty payment required", "customs_held"),
    ("Customs requires additional documents", "customs_held"),
    ("Customs clearance completed", "customs_cleared"),
    ("Import customs clearance complete", "customs_cleared"),
    ("Import customs clearance completed", "customs_cleared"),
    ("Released from customs", "customs_cleared"),
    ("Released by customs", "customs_cleared"),
    ("Departed from customs", "customs_cleared"),
    ("Clearance processing complete", "customs_cleared"),
    ("International shipment release - Import", "customs_cleared"),
    ("Import clearance failed", "customs_failed"),
    ("Export clearance failed", "returning"),
    ("Import customs clearance failed", "customs_failed"),
    ("Customs clearance failure, returned to sender", "customs_failed"),
    ("Did not pass customs", "customs_failed"),
    ("Refused by customs", "customs_failed"),
    ("Confiscated", "seized"),
    ("Confiscated by customs", "seized"),
    ("Item seized", "seized"),
    # last mile
    ("Available for pickup", "at_pickup_point"),
    ("Ready for pickup", "at_pickup_point"),
    ("Ready for pickup at the post office", "at_pickup_point"),
    ("Arrived at post office", "at_pickup_point"),
    ("Arrived at pickup point", "at_pickup_point"),
    ("Delivered to parcel locker", "at_pickup_point"),
    ("Awaiting collection", "at_pickup_point"),
    ("Out for delivery", "out_for_delivery"),
    ("Out For Delivery Today", "out_for_delivery"),
    ("On FedEx vehicle for delivery", "out_for_delivery"),
    ("Delivering", "out_for_delivery"),
    ("Attempted delivery", "attempt_failed"),
    ("Delivery attempt failed", "attempt_failed"),
    ("Delivery attempted - no access to delivery location", "attempt_failed"),
    ("Delivery failed", "attempt_failed"),
    ("Item not delivered", "attempt_failed"),
    ("Could not be delivered", "attempt_failed"),
    ("Recipient not available", "attempt_failed"),
    ("Refused by recipient", "attempt_failed"),
    ("Notice left (no authorized recipient available)", "attempt_failed"),
    ("Delivered", "delivered"),
    ("Delivered successfully", "delivered"),
    ("Your parcel has been delivered", "delivered"),
    ("Order delivered", "delivered"),
    ("Delivered to the recipient", "delivered"),
    ("Package delivered to recipient", "delivered"),
    ("Delivered, In/At Mailbox", "delivered"),
    ("Delivered, Front Door/Porch", "delivered"),
    ("Delivered, Left with Individual", "delivered"),
    ("Delivered, signed for by J SMITH", "delivered"),
    ("Signed for by the recipient", "delivered"),
    ("Picked up by customer", "delivered"),
    ("Signed", "delivered"),
    # going back, and replaced numbers
    ("Return to sender", "returning"),
    ("Returning to sender", "returning"),
    ("Item is being returned to sender", "returning"),
    ("Return in transit", "returning"),
    ("Returned to sender", "returned"),
    ("Returned to shipper", "returned"),
    ("The item has been returned to the sender", "returned"),
    ("Return delivered to sender", "returned"),
    ("Delivered to sender", "returned"),
    ("Delivery cancelled", "delivery_canceled"),
    ("The shipment has been cancelled", "delivery_canceled"),
]

# --- Normalizer: rules -------------------------------------------------------------------


def test_statuses_are_the_sixteen_of_the_contract_in_table_order() -> None:
    """STATUSES lists the normalized statuses, in the documented table's order."""
    assert len(STATUSES) == 16
    assert STATUSES[0] == "no_info"
    assert STATUSES[-1] == "unknown"
    assert STATUSES.index("customs_failed") < STATUSES.index("seized")


@pytest.mark.parametrize(("text", "expected"), SEED_TEXTS)
def test_every_seed_status_text_normalizes_to_its_status(text: str, expected: str) -> None:
    """Each status text quoted in the seed articles maps to the status the rules give it."""
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "expected"), AGGREGATOR_TEXTS)
def test_aggregator_phrasings_normalize_to_their_status(text: str, expected: str) -> None:
    """Common carrier and aggregator phrasings map to the right normalized status."""
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    ["HELD AT CUSTOMS!!", "held-at  customs", "  Held_at_Customs. ", "held\tat\ncustoms"],
)
def test_matching_ignores_case_punctuation_and_spacing(text: str) -> None:
    """Case, punctuation and runs of whitespace do not change the status."""
    assert normalize(text) == "customs_held"


def test_normalize_key_folds_case_punctuation_and_whitespace() -> None:
    """The key is case-folded, with every non-alphanumeric run turned into one space."""
    assert normalize_key("  Delivered, In/At  Mailbox! ") == "delivered in at mailbox"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Hello world",
        "Customs",
        "Customs status updated",
        "Shipment on hold",
        "Delivered to agent for final delivery",
        "Carrier update",
        "Customs clearance information received",
        "Information sent to customs",
        "Awaiting pickup by carrier",
        "包裹已签收",
    ],
)
def test_unknown_text_is_unknown(text: str) -> None:
    """Text the tables do not know is `unknown`, never a guess."""
    assert normalize(text) == "unknown"


@given(st.text())
def test_normalize_never_raises_and_returns_a_known_status(text: str) -> None:
    """Any string at all yields one of STATUSES."""
    assert normalize(text) in STATUSES


def test_phrase_table_keys_are_normalized_and_map_to_known_statuses() -> None:
    """PHRASES keys are already normalized keys; values are STATUSES."""
    for key, status in PHRASES.items():
        assert key == normalize_key(key)
        assert status in STATUSES


def test_rules_never_contradict_the_phrase_table() -> None:
    """For every exact phrase, the first matching rule (if any) agrees with the table."""
    for key, status in PHRASES.items():
        ruled = next((s for pattern, s in RULES if pattern.search(key)), status)
        assert ruled == status, key


def _rule_statuses(text: str) -> set[str]:
    key = normalize_key(text)
    return {status for pattern, status in RULES if pattern.search(key)}


@pytest.mark.parametrize(
    "text",
    [
        "Customs clearance failed",
        "Import customs clearance failed",
        "Customs clearance unsuccessful",
        "Failed customs clearance",
        "Did not clear customs",
        "Not cleared by customs",
    ],
)
def test_customs_clearance_failed_is_never_cleared(text: str) -> None:
    """No rule of the cleared family matches a failed clearance, whatever the order."""
    assert normalize(text) == "customs_failed"
    assert "customs_cleared" not in _rule_statuses(text)


@pytest.mark.parametrize(
    "text", ["Delivery canceled", "Delivery cancelled", "Shipment cancelled", "Cancelled delivery"]
)
def test_delivery_canceled_is_never_delivered(text: str) -> None:
    """A canceled delivery is `delivery_canceled`, and no delivered rule matches it."""
    assert normalize(text) == "delivery_canceled"
    assert "delivered" not in _rule_statuses(text)


@pytest.mark.parametrize(
    "text",
    [
        "Attempted delivery",
        "Delivery attempted",
        "Delivery attempt failed",
        "Failed delivery attempt",
        "Item could not be delivered",
        "Not delivered",
    ],
)
def test_attempted_delivery_is_never_delivered(text: str) -> None:
    """A failed or attempted delivery is `attempt_failed`, and no delivered rule matches it."""
    assert normalize(text) == "attempt_failed"
    assert "delivered" not in _rule_statuses(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Return to sender", "returning"),
        ("Returning to sender", "returning"),
        ("Being returned to sender", "returning"),
        ("Returned to sender", "returned"),
        ("Item returned to sender", "returned"),
    ],
)
def test_return_to_sender_is_returning_and_returned_to_sender_is_returned(text: str, expected: str) -> None:
    """ "Return(ing) to sender" is on the way back; "returned to sender" is back."""
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    ["Delivered to parcel locker", "Delivered to post office", "Delivered to pickup point"],
)
def test_delivery_to_a_locker_or_post_office_waits_for_the_buyer(text: str) -> None:
    """A parcel put in a locker or at a post office is at a pickup point, not delivered."""
    assert normalize(text) == "at_pickup_point"


def test_export_clearance_is_not_import_customs() -> None:
    """Export clearance at origin is transit, not the destination's customs states."""
    assert normalize("Export customs clearance started") == "in_transit"
    assert normalize("Export customs clearance complete") == "in_transit"


# --- S10 tracking numbers ----------------------------------------------------------------


def _reference_check_digit(serial: str) -> int:
    """The UPU S10 formula written out plainly, independent of the library."""
    weights = [8, 6, 4, 2, 3, 5, 9, 7]
    total = 0
    for weight, digit in zip(weights, serial, strict=True):
        total += weight * int(digit)
    check = 11 - total % 11
    if check == 10:
        return 0
    if check == 11:
        return 5
    return check


def _remainder(serial: str) -> int:
    return sum(w * int(d) for w, d in zip((8, 6, 4, 2, 3, 5, 9, 7), serial, strict=True)) % 11


def test_upu_reference_example_is_valid() -> None:
    """UPU S10's example serial 47312482 has check digit 9 (Σ = 200, 200 mod 11 = 2)."""
    assert 4 * 8 + 7 * 6 + 3 * 4 + 1 * 2 + 2 * 3 + 4 * 5 + 8 * 9 + 2 * 7 == 200
    assert s10_check_digit("47312482") == 9
    assert validate_tracking_number("EE473124829CN") == "EE473124829CN"
    assert check_tracking_number("RR473124829GB").valid


def test_check_digit_maps_ten_to_zero_and_eleven_to_five() -> None:
    """Remainder 1 gives 10 → 0 and remainder 0 gives 11 → 5."""
    assert _remainder("02000000") == 1
    assert s10_check_digit("02000000") == 0
    assert _remainder("00000000") == 0
    assert s10_check_digit("00000000") == 5


VALID_NUMBERS = [
    "RB123456785CN",
    "RB905512332CN",
    "LZ000000005CN",
    "CP020000000DE",
    "RR473124829GB",
    "UA987654326US",
]


@pytest.mark.parametrize("number", VALID_NUMBERS)
def test_numbers_built_with_the_algorithm_validate(number: str) -> None:
    """Real-looking S10 numbers whose digit follows the formula are valid."""
    assert int(number[10]) == _reference_check_digit(number[2:10])
    assert is_s10_shaped(number)
    assert validate_tracking_number(number) == number


def test_corrupting_the_check_digit_is_always_detected() -> None:
    """Any other digit in the check position is rejected."""
    for number in VALID_NUMBERS:
        for digit in "0123456789":
            if digit != number[10]:
                with pytest.raises(ValidationError):
                    validate_tracking_number(number[:10] + digit + number[11:])


def test_serial_corruption_escapes_only_through_the_remainder_0_6_collision() -> None:
    """A one-digit serial change is caught unless remainders 0 and 6 swap (both give 5)."""
    # The weights are non-zero mod 11, so the remainder always changes; but remainder 0
    # (11 → 5) and remainder 6 (11 − 6 = 5) share check digit 5: a blind spot of S10.
    escaped = 0
    for number in VALID_NUMBERS:
        serial = number[2:10]
        for position in range(8):
            for digit in "0123456789":
                if digit == serial[position]:
                    continue
                changed = serial[:position] + digit + serial[position + 1 :]
                corrupted = number[:2] + changed + number[10:]
                assert _remainder(changed) != _remainder(serial)
                collision = {_remainder(serial), _remainder(changed)} == {0, 6}
                assert check_tracking_number(corrupted).valid is collision, corrupted
                escaped += collision
    assert escaped > 0  # e.g. RB123456785CN → RB123457785CN
    assert check_tracking_number("RB123457785CN").valid


@given(
    serial=st.from_regex(r"\A[0-9]{8}\Z"),
    prefix=st.from_regex(r"\A[A-Z]{2}\Z"),
    suffix=st.from_regex(r"\A[A-Z]{2}\Z"),
)
def test_built_numbers_validate_and_single_digit_changes_fail(serial: str, prefix: str, suffix: str) -> None:
    """Built numbers validate; one-digit changes fail except the 0↔6 remainder collision."""
    check = s10_check_digit(serial)
    assert check == _reference_check_digit(serial)
    digits = serial + str(check)
    number = f"{prefix}{digits}{suffix}"
    assert validate_tracking_number(number) == number
    for position in range(9):
        for digit in "0123456789":
            if digit == digits[position]:
                continue
            changed = digits[:position] + digit + digits[position + 1 :]
            verdict = check_tracking_number(f"{prefix}{changed}{suffix}")
            collision = position < 8 and {_remainder(serial), _remainder(changed[:8])} == {0, 6}
            assert verdict.valid is collision


def test_wrong_check_digit_error_names_field_number_and_expected_digit() -> None:
    """The error says which field, which number and which digit was expected."""
    with pytest.raises(ValidationError) as caught:
        validate_tracking_number("RB123456784CN", field="new_tracking")
    message = caught.value.message
    assert "new_tracking" in message
    assert "RB123456784CN" in message
    assert "expected 5" in message


def test_s10_numbers_are_cleaned_of_spaces_and_case() -> None:
    """Spaces and lower case are tolerated and cleaned away in S10 numbers."""
    assert validate_tracking_number(" rb 123 456 785 cn ") == "RB123456785CN"


@pytest.mark.parametrize(
    "number", ["YT2112345678901234", "LP00123456789012", "1Z999AA10123456784", "9400111899223"]
)
def test_non_s10_formats_are_accepted_opaque(number: str) -> None:
    """Other carrier formats pass unchanged, without a check digit."""
    assert validate_tracking_number(number) == number
    verdict = check_tracking_number(number)
    assert (verdict.s10, verdict.valid, verdict.expected) == (False, True, None)


@pytest.mark.parametrize("number", ["", "   ", None, 123456785])
def test_empty_or_non_string_tracking_number_is_rejected(number: Any) -> None:
    """An empty or non-string number is a ValidationError naming the field."""
    with pytest.raises(ValidationError, match="tracking_number"):
        validate_tracking_number(number)


@pytest.mark.parametrize("number", ["AB 12 CD", "ÄÖ12345", "X" * 65, "AA١٢٣٤٥٦٧٨٩CN"])
def test_opaque_numbers_must_be_printable_ascii_without_spaces(number: str) -> None:
    """Opaque numbers: ≤ 64 printable ASCII characters, no inner spaces."""
    with pytest.raises(ValidationError):
        validate_tracking_number(number)


@given(st.one_of(st.text(), st.none(), st.integers()))
def test_check_tracking_number_never_raises(number: Any) -> None:
    """`check_tracking_number` answers for any input; only `validate_…` raises."""
    verdict = check_tracking_number(number)
    assert verdict.valid is (verdict.message in {"valid UPU S10 number", "not S10: accepted as opaque"})


def test_track_check_json_has_the_cli_keys() -> None:
    """`TrackCheck.to_json` carries number, s10, valid, expected_check_digit, message."""
    verdict = check_tracking_number("RB123456784CN")
    assert isinstance(verdict, TrackCheck)
    assert verdict.to_json() == {
        "number": "RB123456784CN",
        "s10": True,
        "valid": False,
        "expected_check_digit": 5,
        "message": verdict.message,
    }


@pytest.mark.parametrize("serial", ["1234567", "123456789", "1234567a", "١٢٣٤٥٦٧٨"])
def test_check_digit_needs_exactly_eight_ascii_digits(serial: str) -> None:
    """`s10_check_digit` refuses anything but eight ASCII digits."""
    with pytest.raises(ValidationError):
        s10_check_digit(serial)


# --- Feeds -------------------------------------------------------------------------------


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_cainiao_sample_parses_into_expected_checkpoints() -> None:
    """A Cainiao response becomes oldest-first checkpoints with mapped statuses."""
    feed = parse_feed(_fixture("cainiao_aliexpress_standard.json"), format="cainiao")
    assert (feed.tracking_number, feed.carrier) == ("LP00654321987654", "Correos")
    assert [(c.at, c.status, c.code) for c in feed.checkpoints] == [
        (_utc("2026-03-10T02:00:00"), "info_received", "GWMS_ACCEPT"),
        (_utc("2026-03-11T11:02:33"), "in_transit", "PU_PICKUP_SUCCESS"),
        (_utc("2026-03-12T07:20:19"), "in_transit", "SC_INBOUND_SUCCESS"),
        (_utc("2026-03-12T13:44:02"), "in_transit", "SC_OUTBOUND_SUCCESS"),
        (_utc("2026-03-13T01:00:00"), "in_transit", "CC_EX_START"),
        (_utc("2026-03-13T10:05:10"), "in_transit", "CC_EX_SUCCESS"),
        (_utc("2026-03-13T18:30:00"), "in_transit", "LH_DEPART"),
        (_utc("2026-03-15T22:58:00"), "in_transit", "LH_ARRIVE"),
        (_utc("2026-03-16T08:12:45"), "arrived_at_customs", None),
        (_utc("2026-03-17T15:40:00"), "customs_cleared", "CC_IM_SUCCESS"),
        (_utc("2026-03-17T21:03:11"), "unknown", "CUSTOMS_ARRIVED_IN_AREA_CALLBACK"),
        (_utc("2026-03-18T09:15:32"), "in_transit", "GTMS_ACCEPT"),
        (_utc("2026-03-19T16:20:00"), "in_transit", "GTMS_DO_ARRIVE"),
        (_utc("2026-03-20T07:02:11"), "out_for_delivery", "GTMS_DO_DEPART"),
        (_utc("2026-03-20T11:41:07"), "delivered", "GTMS_SIGNED"),
    ]


def test_cainiao_unknown_code_keeps_the_raw_text() -> None:
    """An unknown action code with unknown text is `unknown`, the carrier's text kept."""
    feed = parse_feed(_fixture("cainiao_aliexpress_standard.json"))
    odd = next(c for c in feed.checkpoints if c.status == "unknown")
    assert odd.text == "Carrier note: preMainCode:SINOA00241668ES"


def test_cainiao_leading_bracket_is_the_location() -> None:
    """`[Madrid,28013] Delivered` puts the place in `location` and keeps the text whole."""
    last = parse_feed(_fixture("cainiao_aliexpress_standard.json")).checkpoints[-1]
    assert last.location == "Madrid,28013"
    assert last.text == "[Madrid,28013] Delivered"


def test_cainiao_pickup_station_signature_is_not_delivered() -> None:
    """GTMS_STA_SIGNED is the pickup station signing the parcel in, not the buyer."""
    assert CAINIAO_ACTION_CODES["GTMS_STA_SIGNED"] == "at_pickup_point"
    assert CAINIAO_ACTION_CODES["GTMS_SIGNED"] == "delivered"


def test_cainiao_epoch_time_is_used_when_there_is_no_zone() -> None:
    """Without `timeZone`, the epoch `time` (ms) gives the instant."""
    entry = {"time": 1773136800000, "timeStr": "2026-03-10 18:00:00", "desc": "Delivered"}
    feed = parse_feed({"mailNo": "LP1", "detailList": [entry]})
    assert feed.checkpoints[0].at == _utc("2026-03-10T10:00:00")


def test_aftership_sample_parses_into_expected_checkpoints() -> None:
    """An AfterShip tracking becomes checkpoints from tags, subtags and messages."""
    feed = parse_feed(_fixture("aftership_china_post.json"), format="aftership")
    assert (feed.tracking_number, feed.carrier) == ("RB905512332CN", "china-post")
    assert [(c.at, c.status) for c in feed.checkpoints] == [
        (_utc("2026-02-02T01:10:00"), "info_received"),
        (_utc("2026-02-03T10:22:00"), "in_transit"),
        (_utc("2026-02-03T22:40:00"), "in_transit"),
        (_utc("2026-02-09T10:05:00"), "in_transit"),
        (_utc("2026-02-09T14:30:00"), "customs_held"),
        (_utc("2026-02-12T09:00:00"), "customs_cleared"),
        (_utc("2026-02-13T06:45:00"), "out_for_delivery"),
        (_utc("2026-02-13T12:12:00"), "attempt_failed"),
        (_utc("2026-02-13T15:00:00"), "at_pickup_point"),
        (_utc("2026-02-15T10:20:00"), "delivered"),
    ]
    first = feed.checkpoints[1]
    assert (first.code, first.location, first.text) == (
        "EMA",
        "Shenzhen, Guangdong, China",
        "Acceptance",
    )


def _aftership_one(tag: str, subtag: str, message: str) -> str:
    cp = {"checkpoint_time": "2026-02-09T15:30:00+01:00", "tag": tag, "subtag": subtag}
    cp["message"] = message
    return parse_feed({"checkpoints": [cp]}).checkpoints[0].status


@pytest.mark.parametrize(
    ("tag", "subtag", "message", "expected"),
    [
        ("InTransit", "InTransit_001", "Held by customs", "customs_held"),
        ("InTransit", "InTransit_001", "Departed facility", "in_transit"),
        ("InTransit", "InTransit_001", "Delivered", "in_transit"),
        ("InTransit", "InTransit_005", "Processed", "customs_cleared"),
        ("Exception", "Exception_001", "Returned to sender", "returned"),
        ("Exception", "Exception_001", "Something odd happened", "unknown"),
        ("Exception", "Exception_004", "Customs clearance failed", "customs_failed"),
        ("Exception", "Exception_004", "Delay", "customs_held"),
        ("Exception", "Exception_010", "In transit", "returning"),
        ("Exception", "Exception_011", "Parcel back", "returned"),
        ("AvailableForPickup", "AvailableForPickup_001", "Notice", "at_pickup_point"),
        ("AttemptFail", "AttemptFail_001", "Delivered", "attempt_failed"),
        ("Delivered", "Delivered_001", "", "delivered"),
        ("OutForDelivery", "OutForDelivery_001", "", "out_for_delivery"),
        ("InfoReceived", "InfoReceived_001", "", "info_received"),
        ("Pending", "Pending_001", "", "no_info"),
        ("Mystery", "Mystery_001", "Out for delivery", "out_for_delivery"),
    ],
)
def test_aftership_tag_decides_and_message_refines_only_where_the_tag_says_too_little(
    tag: str, subtag: str, message: str, expected: str
) -> None:
    """Subtag beats tag; the message only refines vague tags (InTransit, Exception)."""
    assert _aftership_one(tag, subtag, message) == expected


def test_every_code_table_maps_to_a_known_status() -> None:
    """Cainiao codes, AfterShip tags and refinements only name STATUSES."""
    assert set(CAINIAO_ACTION_CODES.values()) <= set(STATUSES)
    assert set(AFTERSHIP_TAGS.values()) <= set(STATUSES)
    for allowed in AFTERSHIP_REFINE.values():
        assert allowed <= set(STATUSES)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (_fixture("cainiao_aliexpress_standard.json"), "cainiao"),
        (_fixture("cainiao_aliexpress_standard.json")["module"][0], "cainiao"),
        ({"data": [{"mailNo": "LP1", "section1": {"detailList": []}}]}, "cainiao"),
        ([{"actionCode": "GTMS_SIGNED", "time": 1773136800000}], "cainiao"),
        (_fixture("aftership_china_post.json"), "aftership"),
        (_fixture("aftership_china_post.json")["data"]["tracking"], "aftership"),
        (_fixture("aftership_china_post.json")["data"], "aftership"),
        ([{"checkpoint_time": "2026-02-02T09:10:00+08:00", "tag": "InTransit"}], "aftership"),
    ],
)
def test_auto_detects_the_format_from_the_keys(payload: Any, expected: str) -> None:
    """`auto` recognises each envelope of both formats."""
    assert detect_format(payload) == expected
    parse_feed(payload)  # and parses it


def test_auto_and_explicit_format_agree() -> None:
    """Auto-detection parses the samples exactly as the explicit format does."""
    for name, fmt in [
        ("cainiao_aliexpress_standard.json", "cainiao"),
        ("aftership_china_post.json", "aftership"),
    ]:
        assert parse_feed(_fixture(name)) == parse_feed(_fixture(name), format=fmt)


def test_newest_first_feeds_come_out_oldest_first() -> None:
    """Checkpoints are sorted by time whatever order the payload lists them in."""
    feed = parse_feed(_fixture("cainiao_aliexpress_standard.json"))
    times = [c.at for c in feed.checkpoints]
    assert times == sorted(times)
    assert all(c.at.utcoffset() is not None and c.at.tzinfo == UTC for c in feed.checkpoints)


def test_checkpoint_key_is_number_utc_time_and_code_or_status() -> None:
    """The key joins number, UTC instant and code; the status stands in for a missing code."""
    at = _utc("2026-03-20T11:41:07")
    coded = Checkpoint(at=at, status="delivered", text="Delivered", code="GTMS_SIGNED")
    plain = Checkpoint(at=at, status="delivered", text="Delivered, In/At Mailbox")
    reworded = Checkpoint(at=at, status="delivered", text="Item delivered to mailbox")
    unknown = Checkpoint(at=at, status="unknown", text="Zorgle / flarn")
    assert coded.key("LP1") == "LP1|2026-03-20T11:41:07Z|GTMS_SIGNED"
    assert plain.key("LP1") == "LP1|2026-03-20T11:41:07Z|delivered"
    assert reworded.key("LP1") == plain.key("LP1")
    assert unknown.key("LP1") == "LP1|2026-03-20T11:41:07Z|zorgle flarn"


def test_a_repeated_checkpoint_is_kept_once() -> None:
    """Two entries with the same key in one payload give one checkpoint."""
    cp = {"checkpoint_time": "2026-02-13T07:45:00+01:00", "tag": "OutForDelivery"}
    cp["message"] = "Out for delivery"
    feed = parse_feed({"tracking_number": "LP1", "checkpoints": [cp, dict(cp)]})
    assert len(feed.checkpoints) == 1


def test_a_naive_checkpoint_time_is_rejected_by_the_checkpoint_itself() -> None:
    """A Checkpoint cannot hold a time without a zone."""
    with pytest.raises(ValidationError):
        Checkpoint(at=datetime(2026, 3, 1, 10, 0), status="delivered", text="Delivered")


_GOOD_AS = {"checkpoint_time": "2026-02-02T09:10:00+08:00", "tag": "InTransit", "message": "x"}


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"checkpoints": [_GOOD_AS, {"tag": "InTransit"}]}, r"checkpoints\[1\]\.checkpoint_time"),
        (
            {"checkpoints": [{**_GOOD_AS, "checkpoint_time": "yesterday"}]},
            r"checkpoints\[0\]\.checkpoint_time",
        ),
        (
            {"checkpoints": [_GOOD_AS, {**_GOOD_AS, "checkpoint_time": "2026-02-02T09:10:00"}]},
            r"checkpoints\[1\]\.checkpoint_time.*no UTC offset",
        ),
        ({"checkpoints": [_GOOD_AS, "oops"]}, r"checkpoints\[1\]: expected an object"),
        ({"checkpoints": "oops"}, r"checkpoints: expected a list"),
        (
            {"mailNo": "LP1", "detailList": [{"timeStr": "2026-03-10 10:00:00", "desc": "x"}]},
            r"detailList\[0\]\.timeStr.*no time zone",
        ),
        (
            {"mailNo": "LP1", "detailList": [{"desc": "Delivered", "timeZone": "GMT+8"}]},
            r"detailList\[0\]\.time: missing",
        ),
        (
            {
                "mailNo": "LP1",
                "detailList": [
                    {"timeStr": "2026-03-10 10:00:00", "timeZone": "GMT+8", "desc": "x"},
                    {"timeStr": "2026-03-10 11:00:00", "timeZone": "Mars/Olympus", "desc": "x"},
                ],
            },
            r"detailList\[1\]\.timeZone",
        ),
        (
            {"mailNo": "LP1", "detailList": [{"timeStr": "10/03/2026", "timeZone": "GMT+8"}]},
            r"detailList\[0\]\.timeStr",
        ),
        ({"mailNo": "LP1", "detailList": [{"time": 12, "desc": "x"}]}, r"detailList\[0\]\.time"),
        ({"module": [{"mailNo": "LP1"}, {"mailNo": "LP2"}]}, r"module: expected one"),
        ({"tracking_number": "RB123456784CN", "checkpoints": []}, r"expected 5"),
        ({"hello": "world"}, r"cannot tell the feed format"),
        ({"mailNo": "LP1"}, r"detailList: missing"),
        ({"tracking_number": "LP1", "slug": "china-post"}, r"checkpoints: missing"),
    ],
)
def test_malformed_payload_names_the_checkpoint_and_field(payload: Any, match: str) -> None:
    """A malformed payload is a ValidationError that says where the problem is."""
    with pytest.raises(ValidationError, match=match):
        parse_feed(payload)


def test_an_explicit_format_that_does_not_fit_is_rejected() -> None:
    """Forcing the wrong format is an error, not an empty feed."""
    with pytest.raises(ValidationError, match="detailList: missing"):
        parse_feed(_fixture("aftership_china_post.json"), format="cainiao")
    with pytest.raises(ValidationError, match="checkpoints: missing"):
        parse_feed(_fixture("cainiao_aliexpress_standard.json"), format="aftership")


def test_unknown_format_name_is_rejected() -> None:
    """Only auto, cainiao, aftership and 17track are formats."""
    with pytest.raises(ValidationError, match="format"):
        parse_feed({"checkpoints": []}, format="dhl")


def test_an_empty_list_is_an_empty_feed() -> None:
    """An empty payload list has nothing to ingest and is not an error."""
    feed = parse_feed([])
    assert (feed.tracking_number, feed.carrier, feed.checkpoints) == (None, None, ())
