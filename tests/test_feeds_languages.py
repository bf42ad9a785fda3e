"""Carrier statuses in the buyers' languages: Russian, Portuguese, Spanish, French, Polish, English.

Each row is a status text as the national post (or the AliExpress tracking page) shows
it. Matching is case- and accent-insensitive; text nobody knows stays `unknown` and is
reported as a warning when a feed brings it.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock
from parcelfsm.feeds import parse_feed
from parcelfsm.testing import DEFAULTS
from parcelfsm.tracking import normalize

# fmt: off
BY_LANGUAGE = {
    "ru": [
        ("Прибыло в место вручения", "at_pickup_point"),
        ("Приём", "in_transit"),
        ("Покинуло место международного обмена", "in_transit"),
        ("Таможенное оформление", "arrived_at_customs"),
        ("Задержано таможней", "customs_held"),
        ("Таможенное оформление завершено. Выпуск разрешен", "customs_cleared"),
        ("Возвращено таможней", "customs_failed"),
        ("Передано почтальону", "out_for_delivery"),
        ("Неудачная попытка вручения", "attempt_failed"),
        ("Вручение адресату", "delivered"),
        ("Возврат отправителю", "returning"),
    ],
    "pt": [
        ("Objeto aguardando retirada no endereço indicado", "at_pickup_point"),
        ("Objeto postado", "in_transit"),
        ("Objeto em trânsito - por favor aguarde", "in_transit"),
        ("Informações eletrônicas enviadas para análise da autoridade aduaneira", "arrived_at_customs"),
        ("Aguardando pagamento do despacho postal", "customs_held"),
        ("Pagamento confirmado", "customs_cleared"),
        ("Devolução determinada pela autoridade aduaneira", "customs_failed"),
        ("Objeto saiu para entrega ao destinatário", "out_for_delivery"),
        ("Objeto entregue ao destinatário", "delivered"),
        ("Objeto devolvido ao remetente", "returned"),
    ],
    "es": [
        ("En espera de ser recogido", "at_pickup_point"),
        ("Admitido", "in_transit"),
        ("En proceso de despacho aduanero", "arrived_at_customs"),
        ("Retenido en aduana", "customs_held"),
        ("Despachado de aduana", "customs_cleared"),
        ("En reparto", "out_for_delivery"),
        ("Entregado", "delivered"),
        ("Devuelto al remitente", "returned"),
    ],
    "fr": [
        ("Votre colis vous attend en bureau de poste", "at_pickup_point"),
        ("Votre colis est en cours d'acheminement", "in_transit"),
        ("En cours de dédouanement", "arrived_at_customs"),
        ("Retenu en douane", "customs_held"),
        ("Dédouané", "customs_cleared"),
        ("En cours de livraison", "out_for_delivery"),
        ("Votre colis a été livré", "delivered"),
        ("Retour à l'expéditeur", "returning"),
    ],
    "pl": [
        ("Przesyłka oczekuje na odbiór", "at_pickup_point"),
        ("Przesyłka w drodze", "in_transit"),
        ("Przekazano do odprawy celnej", "arrived_at_customs"),
        ("Zatrzymana przez urząd celny", "customs_held"),
        ("Odprawa celna zakończona", "customs_cleared"),
        ("Wydano do doręczenia", "out_for_delivery"),
        ("Przesyłka doręczona", "delivered"),
        ("Zwrócono do nadawcy", "returned"),
    ],
    "en": [
        ("Parcel is awaiting pickup at the post office", "at_pickup_point"),
        ("Sorting", "in_transit"),
        ("Item is being sorted", "in_transit"),
        ("Export customs clearance started", "in_transit"),
        ("Export clearance failed", "returning"),
        ("Clearing Customs", "arrived_at_customs"),
    ],
}
# fmt: on
CASES = [(lang, text, status) for lang, rows in BY_LANGUAGE.items() for text, status in rows]


@pytest.mark.parametrize(("lang", "text", "status"), CASES, ids=[f"{c[0]}:{c[1][:30]}" for c in CASES])
def test_common_statuses_in_each_language_normalize(lang: str, text: str, status: str) -> None:
    """The usual status texts of each language map to their normalized status."""
    assert normalize(text) == status


@pytest.mark.parametrize(
    ("variant", "status"),
    [
        ("PRZESYLKA OCZEKUJE NA ODBIOR", "at_pickup_point"),
        ("objeto aguardando retirada no endereco indicado", "at_pickup_point"),
        ("EN ESPERA DE SER RECOGIDO.", "at_pickup_point"),
        ("dedouane", "customs_cleared"),
        ("ПРИБЫЛО В МЕСТО ВРУЧЕНИЯ", "at_pickup_point"),
        ("Приём  ", "in_transit"),
    ],
)
def test_matching_ignores_case_and_accents(variant: str, status: str) -> None:
    """Upper case, missing accents or a dropped `ł`/`ё` change nothing."""
    assert normalize(variant) == status


@pytest.mark.parametrize(
    "text", ["Посылка съедена котом", "Objeto teleportado", "Awaiting pickup by carrier"]
)
def test_unknown_text_stays_unknown(text: str) -> None:
    """Text the tables do not know is `unknown`, in any language."""
    assert normalize(text) == "unknown"


def test_unknown_text_in_a_feed_is_kept_with_a_warning() -> None:
    """Ingesting an unknown status records it as `unknown` with its text and warns."""
    entry = {"time": 1775000000000, "desc": "Посылка съедена котом", "actionCode": None}
    feed = parse_feed({"mailNo": "LP00598123456789", "detailList": [entry]})
    assert [c.status for c in feed.checkpoints] == ["unknown"]
    assert len(feed.warnings) == 1 and "Посылка съедена котом" in feed.warnings[0]
    clock = ManualClock("2026-03-31T00:00:00Z")
    with parcelfsm.open(":memory:", clock=clock) as orders:
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
        orders.record("o-1", "order.shipped", {"tracking_number": "LP00598123456789"})
        clock.set("2026-04-02T00:00:00Z")
        report = orders.ingest_tracking("o-1", {"mailNo": "LP00598123456789", "detailList": [entry]})
        stored = orders.history("o-1")[-1]
    assert report.warnings == feed.warnings
    assert (stored.data["status"], stored.data["text"]) == ("unknown", "Посылка съедена котом")


def test_the_normalize_command_reads_any_language_and_warns_on_unknown_text() -> None:
    """`parcelfsm normalize` maps a Polish status; unknown text prints `unknown` and a
    warning on stderr (stdout stays clean JSON)."""
    known = CliRunner().invoke(cli, ["--json", "normalize", "Przesyłka oczekuje na odbiór"])
    assert known.exit_code == 0
    assert json.loads(known.stdout)["status"] == "at_pickup_point"
    assert known.stderr == ""
    odd = CliRunner().invoke(cli, ["--json", "normalize", "Посылка съедена котом"])
    assert odd.exit_code == 0
    assert json.loads(odd.stdout) == {"text": "Посылка съедена котом", "status": "unknown"}
    assert "warning: unknown status text" in odd.stderr


@pytest.mark.parametrize(
    ("written", "rewritten"),
    [
        ("Colis en préparation à l'entrepôt", "COLIS EN PREPARATION A L'ENTREPOT"),
        ("Zażółć gęślą jaźń", "zazolc gesla jazn!"),
        ("Straße gesperrt, Zustellung verzögert", "Strasse gesperrt - Zustellung verzogert"),
    ],
)
def test_an_unknown_status_keeps_its_key_when_a_feed_changes_its_accents_or_case(
    written: str, rewritten: str
) -> None:
    """A checkpoint whose text the normalizer does not know is keyed by the text's
    normalized form: the same scan re-sent without accents, in capitals or with other
    punctuation is the same checkpoint (its ingest appends nothing new)."""
    from parcelfsm.feeds_common import Checkpoint

    at = "2026-03-05T10:00:00Z"
    first, second = (Checkpoint(ManualClock(at).now(), "unknown", text) for text in (written, rewritten))
    assert normalize(written) == normalize(rewritten) == "unknown"
    assert first.key("LP001") == second.key("LP001")
    assert first.key("LP001") != Checkpoint(ManualClock(at).now(), "unknown", "Another text").key("LP001")
