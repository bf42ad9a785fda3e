"""Carrier status texts in the buyers' languages: Russian, Portuguese, Spanish, French, Polish.

Data only (no imports from the rest of the library): `PHRASES_BY_LANGUAGE` holds exact
phrases per language and status, `RULES_BY_LANGUAGE` ordered regex rules for the
phrasings that vary. `parcelfsm.tracking.normalize` runs both on the text's matching
key — case-folded, accents stripped, punctuation-free — so the phrases below may be
written with or without accents, and the rules are written without them
("transito", "dedouane", "ожидает"; a Cyrillic "й" reads as "и").
"""

from __future__ import annotations

from typing import Final

# fmt: off
PHRASES_BY_LANGUAGE: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "ru": {
        "no_info": ("Ожидается отправка", "Трек-номер не найден", "Нет информации"),
        "info_received": (
            "Присвоен трек-номер", "Получена электронная информация", "Информация получена",
            "Регистрация отправления",
        ),
        "in_transit": (
            "Прием", "Принято", "Принято в отделении связи", "Сортировка", "Покинуло место приема",
            "Прибыло в сортировочный центр", "Покинуло сортировочный центр",
            "Прибыло в место международного обмена", "Покинуло место международного обмена",
            "Передано перевозчику", "Отправлено в Российскую Федерацию", "В пути",
            "Прибыло в Россию", "Покинуло страну отправления",
        ),
        "arrived_at_customs": (
            "Таможенное оформление", "Передано таможне", "Принято на таможню",
            "Таможенное оформление начато", "Поступило на таможню",
        ),
        "customs_held": (
            "Задержано таможней", "Задержано в таможне", "Таможенный досмотр",
            "Требуется уплата таможенных платежей", "Ожидает уплаты таможенных платежей",
        ),
        "customs_cleared": (
            "Таможенное оформление завершено", "Выпущено таможней", "Выпуск разрешен",
            "Выпуск товаров без уплаты таможенных платежей",
            "Таможенное оформление завершено. Выпуск разрешен",
        ),
        "customs_failed": ("Возвращено таможней", "Отказ в выпуске", "Отказано в выпуске таможней"),
        "seized": ("Конфисковано", "Изъято таможней"),
        "at_pickup_point": (
            "Прибыло в место вручения", "Ожидает адресата в месте вручения", "Ожидает вручения",
            "Прибыло в пункт выдачи", "Поступило в почтомат", "Готово к выдаче",
        ),
        "out_for_delivery": ("Передано почтальону", "Доставляется курьером", "Передано курьеру"),
        "attempt_failed": ("Неудачная попытка вручения", "Временное отсутствие адресата"),
        "delivered": ("Вручение адресату", "Вручено", "Вручено адресату", "Получено адресатом"),
        "returning": ("Возврат", "Возврат отправителю", "Выслано обратно отправителю"),
        "returned": ("Вручение отправителю", "Вручено отправителю", "Возвращено отправителю"),
    },
    "pt": {
        "no_info": ("Objeto não encontrado", "Aguardando postagem"),
        "info_received": ("Etiqueta emitida", "Informações enviadas", "Objeto pré-postado"),
        "in_transit": (
            "Objeto postado", "Objeto em trânsito - por favor aguarde", "Objeto encaminhado",
            "Objeto em transferência - por favor aguarde", "Objeto recebido pelos Correios do Brasil",
            "Objeto recebido na unidade de exportação no país de origem",
        ),
        "arrived_at_customs": (
            "Informações eletrônicas enviadas para análise da autoridade aduaneira",
            "Objeto em fiscalização aduaneira", "Fiscalização aduaneira",
        ),
        "customs_held": (
            "Aguardando pagamento", "Aguardando pagamento do despacho postal",
            "Fiscalização aduaneira concluída - aguardando pagamento", "Objeto retido pela fiscalização",
        ),
        "customs_cleared": (
            "Pagamento confirmado", "Fiscalização aduaneira finalizada", "Liberado sem tributação",
        ),
        "customs_failed": ("Devolução determinada pela autoridade aduaneira",),
        "seized": ("Objeto apreendido por órgão de fiscalização", "Objeto apreendido"),
        "at_pickup_point": (
            "Objeto aguardando retirada no endereço indicado", "Objeto disponível para retirada",
            "Aguardando retirada",
        ),
        "out_for_delivery": ("Objeto saiu para entrega ao destinatário", "Saiu para entrega"),
        "attempt_failed": (
            "Objeto não entregue - carteiro não atendido", "Destinatário ausente",
            "Objeto não entregue - destinatário ausente",
        ),
        "delivered": ("Objeto entregue ao destinatário", "Entregue"),
        "returning": ("Objeto em devolução ao remetente", "Objeto devolvido ao país de origem"),
        "returned": ("Objeto devolvido ao remetente", "Objeto entregue ao remetente"),
    },
    "es": {
        "no_info": ("Sin información", "Envío no encontrado"),
        "info_received": ("Pre-registrado", "Prerregistrado", "Datos recibidos", "Etiqueta creada"),
        "in_transit": (
            "Admitido", "En tránsito", "En camino", "Clasificado", "En centro de tratamiento",
            "Llegada al país de destino", "Salida del país de origen", "Clasificación",
        ),
        "arrived_at_customs": (
            "En aduana", "Llegada a aduana", "Entregado a aduana", "En proceso de despacho aduanero",
        ),
        "customs_held": (
            "Retenido en aduana", "Pendiente de pago de aranceles", "Pendiente de documentación aduanera",
        ),
        "customs_cleared": ("Despachado de aduana", "Liberado por aduana", "Despacho aduanero completado"),
        "customs_failed": ("Rechazado por aduana",),
        "seized": ("Decomisado", "Incautado por aduana"),
        "at_pickup_point": (
            "En espera de ser recogido", "Disponible para recoger", "Disponible en oficina",
            "Listo para recoger",
        ),
        "out_for_delivery": ("En reparto", "En proceso de entrega"),
        "attempt_failed": ("Intento de entrega fallido", "Ausente", "Destinatario ausente"),
        "delivered": ("Entregado",),
        "returning": ("En devolución", "Devolución al remitente"),
        "returned": ("Devuelto al remitente", "Entregado al remitente"),
    },
    "fr": {
        "no_info": ("Aucune information", "Colis introuvable"),
        "info_received": ("Informations reçues", "Étiquette créée", "Votre colis est annoncé"),
        "in_transit": (
            "Pris en charge", "En cours d'acheminement", "Votre colis est en cours d'acheminement",
            "Arrivé sur le site", "Tri", "En cours de traitement",
        ),
        "arrived_at_customs": ("En cours de dédouanement", "Arrivé en douane", "Remis à la douane"),
        "customs_held": (
            "Retenu en douane", "Bloqué en douane", "En attente de paiement des droits de douane",
        ),
        "customs_cleared": ("Dédouané", "Dédouanement terminé", "Sorti de douane"),
        "customs_failed": ("Refusé par la douane",),
        "seized": ("Saisi par la douane",),
        "at_pickup_point": (
            "Disponible en point de retrait", "Votre colis vous attend en bureau de poste",
            "Disponible au bureau de poste", "En attente de retrait",
        ),
        "out_for_delivery": ("En cours de livraison", "En cours de distribution"),
        "attempt_failed": ("Tentative de livraison", "Destinataire absent", "Avisé"),
        "delivered": ("Livré", "Distribué", "Votre colis a été livré"),
        "returning": ("Retour à l'expéditeur", "En retour vers l'expéditeur"),
        "returned": ("Retourné à l'expéditeur",),
    },
    "pl": {
        "no_info": ("Brak informacji", "Przesyłka nie została znaleziona"),
        "info_received": ("Przygotowana przez nadawcę", "Dane przesyłki przekazane", "Utworzono etykietę"),
        "in_transit": (
            "Nadanie", "Przesyłka nadana", "W drodze", "Przesyłka w drodze", "Wysłano z sortowni",
            "Przyjęcie w sortowni", "Przesyłka przyjęta w sortowni", "Przyjęta w oddziale",
        ),
        "arrived_at_customs": (
            "Odprawa celna", "Przekazano do odprawy celnej", "Przesyłka w urzędzie celnym",
        ),
        "customs_held": (
            "Zatrzymana przez urząd celny", "Oczekuje na opłatę celną", "Kontrola celna",
        ),
        "customs_cleared": ("Odprawa celna zakończona", "Zwolniona przez urząd celny"),
        "customs_failed": ("Odmowa odprawy celnej",),
        "seized": ("Zajęta przez urząd celny",),
        "at_pickup_point": (
            "Przesyłka oczekuje na odbiór", "Gotowa do odbioru", "Awizo - przesyłka czeka na odbiór",
            "Przesyłka gotowa do odbioru w paczkomacie",
        ),
        "out_for_delivery": ("Wydano do doręczenia", "Przekazano do doręczenia", "W doręczeniu"),
        "attempt_failed": ("Nieudana próba doręczenia", "Adresat nieobecny"),
        "delivered": ("Doręczono", "Przesyłka doręczona", "Odebrano"),
        "returning": ("Zwrot do nadawcy", "Przesyłka zwracana do nadawcy"),
        "returned": ("Zwrócono do nadawcy", "Doręczono do nadawcy"),
    },
}

#: ordered (pattern, status) per language, tried on the key after the English rules
RULES_BY_LANGUAGE: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "ru": (
        (r"\b(?:конфиск|изъят)", "seized"),
        (r"\b(?:возвращено таможн|отказ(?:ано)? в выпуске)", "customs_failed"),
        (r"\bзадержан\w* (?:в )?таможн", "customs_held"),
        (r"\b(?:уплат\w* таможенн|таможенн\w* досмотр)", "customs_held"),
        (r"\b(?:таможенное оформление завершено|выпущено таможн|выпуск (?:разрешен|товаров))",
         "customs_cleared"),
        (r"\b(?:таможенн\w* оформлени|передано таможн|(?:принято|поступило) на таможн)",
         "arrived_at_customs"),
        (r"\bвручени\w* отправител|\bвручено отправител", "returned"),
        (r"\b(?:возврат|выслано обратно)", "returning"),
        (r"\bнеудачн\w* попытк", "attempt_failed"),
        (r"\b(?:прибыло в место вручения|ожидает (?:адресата|вручения)|пункт\w* выдачи|почтомат)",
         "at_pickup_point"),
        (r"\b(?:передано почтальону|доставляется курьером)", "out_for_delivery"),
        (r"\bвручен\w* адресат|^вручено$|\bполучено адресатом", "delivered"),
        (r"\b(?:сортиров|покинуло|прибыло|прием|принято|в пути|передано перевозчику)", "in_transit"),
    ),
    "pt": (
        (r"\bapreendid", "seized"),
        (r"\bdevolucao determinada pela autoridade aduaneira", "customs_failed"),
        (r"\baguardando pagamento", "customs_held"),
        (r"\b(?:fiscalizacao aduaneira|autoridade aduaneira)", "arrived_at_customs"),
        (r"\b(?:devolvido|entregue) ao remetente", "returned"),
        (r"\bem devolucao|\bdevolvido ao pais de origem", "returning"),
        (r"\b(?:aguardando retirada|disponivel para retirada)", "at_pickup_point"),
        (r"\bsaiu para entrega", "out_for_delivery"),
        (r"\bnao entregue", "attempt_failed"),
        (r"\bentregue ao destinatario|^objeto entregue", "delivered"),
        (r"\b(?:em transito|encaminhado|em transferencia|postado|recebido (?:pelos|na|no))", "in_transit"),
    ),
    "es": (
        (r"\b(?:decomisad|incautad)", "seized"),
        (r"\brechazado por (?:la )?aduana", "customs_failed"),
        (r"\b(?:retenido en (?:la )?aduana|pendiente de (?:pago|documentacion))", "customs_held"),
        (r"\b(?:despachado de|liberado por) (?:la )?aduana|despacho aduanero (?:completado|finalizado)",
         "customs_cleared"),
        (r"\b(?:en|a) (?:la )?aduana\b|despacho aduanero", "arrived_at_customs"),
        (r"\b(?:devuelto|entregado) al remitente", "returned"),
        (r"\b(?:en devolucion|devolucion al remitente)", "returning"),
        (r"\b(?:en espera de ser recogido|disponible (?:para recoger|en oficina)|listo para recoger)",
         "at_pickup_point"),
        (r"\b(?:en reparto|en proceso de entrega)", "out_for_delivery"),
        (r"\b(?:intento de entrega|ausente)", "attempt_failed"),
        (r"^(?:envio )?entregado\b", "delivered"),
        (r"\b(?:en transito|en camino|admitido|clasificad|centro de tratamiento)", "in_transit"),
    ),
    "fr": (
        (r"\bsaisi par la douane", "seized"),
        (r"\brefuse par la douane", "customs_failed"),
        (r"\b(?:retenu|bloque) en douane|droits de douane", "customs_held"),
        (r"\b(?:dedouane\b|dedouanement termine|sorti de douane)", "customs_cleared"),
        (r"\b(?:dedouanement|en douane|a la douane)", "arrived_at_customs"),
        (r"\bretourne a l expediteur", "returned"),
        (r"\bretour (?:a|vers) l expediteur", "returning"),
        (r"\b(?:point de retrait|vous attend|en attente de retrait|disponible au bureau)",
         "at_pickup_point"),
        (r"\ben cours de (?:livraison|distribution)", "out_for_delivery"),
        (r"\b(?:tentative de livraison|destinataire absent)", "attempt_failed"),
        (r"\b(?:a ete livre|livre|distribue)$", "delivered"),
        (r"\b(?:acheminement|pris en charge|arrive sur le site|en transit)", "in_transit"),
    ),
    "pl": (
        (r"\bzajet\w* przez urzad celny", "seized"),
        (r"\bodmowa odprawy", "customs_failed"),
        (r"\b(?:zatrzyman\w* przez urzad celny|oplat\w* celn|kontrola celna)", "customs_held"),
        (r"\b(?:odprawa celna zakonczona|zwolnion\w* przez urzad celny)", "customs_cleared"),
        (r"\b(?:odpraw\w* celn|urzedzie celnym)", "arrived_at_customs"),
        (r"\b(?:zwrocono|doreczono) do nadawcy", "returned"),
        (r"\bzwrot|zwracana", "returning"),
        (r"\b(?:oczekuje na odbior|gotowa do odbioru|czeka na odbior)", "at_pickup_point"),
        (r"\b(?:do doreczenia|w doreczeniu)", "out_for_delivery"),
        (r"\b(?:nieudana proba|adresat nieobecny)", "attempt_failed"),
        (r"\b(?:doreczono|doreczona|odebrano)\b", "delivered"),
        (r"\b(?:w drodze|nadan|sortowni|przyjet)", "in_transit"),
    ),
}
# fmt: on

__all__ = ["PHRASES_BY_LANGUAGE", "RULES_BY_LANGUAGE"]
