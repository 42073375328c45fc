"""The Shop API's words for the error catalog (core/errors.py): the `code` an integration
matches (the catalog's code in capitals, as Loyalty.lt writes them) and the `message` in the
path's language. English is the catalog's description; Lithuanian is kept here, by code, and
falls back to English for a code it does not know yet."""

import re

from django.utils import translation

from loyalty_platform.core import errors
from loyalty_platform.core.errors import ErrorType

# Codes whose Shop API name is not simply the catalog's in capitals.
WIRE_CODES = {
    errors.INVALID_API_KEY.code: "INVALID_CREDENTIALS",
}

LITHUANIAN = {
    "invalid or missing API key": "Neteisingas API raktas arba slaptažodis.",
    "too many requests": "Per daug užklausų; bandykite vėliau.",
    "service_unavailable": "Paslauga laikinai nepasiekiama; bandykite po kelių sekundžių.",
    "not_found": "Toks adresas ar įrašas nerastas.",
    "method_not_allowed": "Šis adresas nepriima šio HTTP metodo.",
    "invalid_json": "Užklausos turinys nėra JSON.",
    "invalid_body": "Užklausos turinys nėra JSON objektas.",
    "unknown_field": "Užklausoje yra nežinomas laukas.",
    "invalid_request": "Užklausa atmesta.",
    "invalid_characters": "Užklausoje yra neleistinų simbolių.",
    "request_too_large": "Užklausos turinys per didelis.",
    "unsupported_media_type": "Užklausos turinys turi būti application/json.",
    "not_acceptable": "Antraštė Accept neleidžia JSON atsakymo.",
    "forbidden": "Šis raktas negali atlikti šio veiksmo.",
    "subscription_required": "Organizacijos prenumerata pasibaigė.",
    "organization_suspended": "Organizacijos veikla sustabdyta.",
    "idempotency_key_reused": "Šis užsakymo numeris jau panaudotas kitai užklausai.",
    "request_in_progress": "Ta pati užklausa dar vykdoma; pakartokite vėliau.",
    "customer_not_found": "Klientas nerastas.",
    "customer_blocked": "Kliento paskyra užblokuota.",
    "not_supported": "Ši funkcija šioje platformoje nepalaikoma.",
    "shop_not_found": "Parduotuvė nerasta arba neaktyvi.",
    "program_not_found": "Lojalumo programa nerasta.",
    "card_blocked": "Kortelė užblokuota.",
    "qr_session_not_found": "QR sesija nerasta.",
    "qr_session_expired": "QR sesijos galiojimas baigėsi.",
    "qr_session_used": "Ši QR sesija jau panaudota.",
    "pin_required": "Reikia kliento PIN kodo.",
    "pin_invalid": "Neteisingas PIN kodas.",
    "insufficient_balance": "Nepakanka taškų.",
    # Sign-in by QR and the app link.
    "qr_login_expired": "QR prisijungimo sesijos galiojimas baigėsi.",
    "qr_login_closed": "Šis QR prisijungimas jau atmestas arba patvirtintas.",
    "phone_invalid": "Neteisingas telefono numeris.",
    # Coupons
    "coupon_not_found": "Kuponas nerastas.",
    "coupon_already_used": "Kuponas jau panaudotas.",
    "coupon_expired": "Kupono galiojimas baigėsi.",
    "coupon_product_choice_not_offered": "Šiam kuponui produkto pasirinkti negalima.",
    "cart_items_required": "Nuolaidai apskaičiuoti reikia krepšelio prekių (cart_items).",
    "coupon_not_applicable": "Kupono nuolaida netaikoma jokiai krepšelio prekei.",
    # Loyalty cards and transactions
    "loyalty_card_not_found": "Lojalumo kortelė nerasta.",
    "card_identifier_required": "Nurodykite kortelę: card_id arba card_number.",
    "user_required": "Nurodykite klientą: user_id, user_email arba loyalty_card_id.",
    "customer_mismatch": "Nurodyti identifikatoriai priklauso skirtingiems klientams.",
    "order_total_required": "Trūksta užsakymo sumos (order_total).",
    "order_total_invalid": "Neteisinga užsakymo suma.",
    "points_discount_amount_invalid": "Nuolaidos suma neatitinka panaudotų taškų vertės.",
    "meta_data_invalid": "Laukas meta_data turi būti ne didesnis nei 2 KB JSON objektas.",
    "field_not_allowed": "Šis laukas netinka šiai operacijai.",
    "currency_mismatch": "Valiuta nesutampa su organizacijos valiuta.",
    "below_minimum": "Per mažai taškų vienam panaudojimui.",
    "balance_limit_exceeded": "Taškų likutis viršytų leidžiamą ribą.",
    "transaction_not_found": "Operacija nerasta.",
    "transaction_already_reversed": "Ši operacija jau atšaukta.",
    "order_already_returned": "Visas užsakymas jau grąžintas.",
    "order_exists": "Užsakymas su šiuo numeriu jau yra.",
    "lines_invalid": "Neteisinga prekių eilutė.",
    "sku_not_in_order": "Grąžinamos prekės užsakyme nėra.",
    "return_exceeds_order": "Grąžinama daugiau, nei buvo pirkta.",
    # Games (stamp cards)
    "game_not_found": "Žaidimas nerastas.",
    "card_not_found": "Kortelė nerasta.",
    "game_not_completed": "Kortelė dar neužpildyta, laukiančio prizo nėra.",
    "game_progress_empty": "Kortelėje nėra antspaudų, tad nėra ko pradėti iš naujo.",
    "stamps_count_invalid": "Antspaudų skaičius turi būti nuo 1 iki pilnos kortelės.",
    # Offers (promotions) and product categories
    "offer_not_found": "Pasiūlymas nerastas.",
    "offer_type_not_supported": "Šio tipo pasiūlymai šioje platformoje nepalaikomi; niekas neišsaugota.",
    "offer_field_not_supported": "Šis pasiūlymo laukas šioje platformoje nepalaikomas; niekas neišsaugota.",
    "promotion_field_required": "Trūksta privalomo akcijos nustatymo.",
    "promotion_field_invalid": "Akcijos nustatymas neteisingas.",
    "attribute_invalid": "Akcijos atributo reikšmė neteisinga arba jos trūksta.",
    "coupon_no_discount": "Šis kuponas nesuteikia nuolaidos, kurią būtų galima apskaičiuoti.",
    "coupon_held_elsewhere": "Kuponą šiuo metu rezervavo kita kasa ar integracija.",
    "voucher_already_used": "Šis kuponas jau panaudotas.",
    "voucher_expired": "Akcija, kuriai priklauso kuponas, jau baigėsi.",
    "voucher_not_yet_valid": "Akcija, kuriai priklauso kuponas, dar neprasidėjo.",
    "minimum_spend_not_met": "Pirkinio suma mažesnė nei mažiausia akcijos suma.",
    "usage_limit_reached": "Klientas šią akciją jau panaudojo leistiną kartų skaičių.",
    "amount_required": "Nurodykite pirkinio sumą: akcijai taikoma mažiausia pirkinio suma.",
}


def wire_code(error: ErrorType) -> str:
    return WIRE_CODES.get(error.code) or re.sub(r"[^A-Z0-9]+", "_", error.code.upper()).strip("_")


def message_for(error: ErrorType) -> str:
    if translation.get_language() == "lt":
        lithuanian = LITHUANIAN.get(error.code) or LITHUANIAN.get(_field_kind(error.code))
        if lithuanian:
            return lithuanian
    return str(error.message or error.description).replace("`", "")


def _field_kind(code: str) -> str | None:
    """`<field>_required` and `<field>_invalid` are worded once for every field."""
    if code.endswith("_required"):
        return "field_required"
    if code.endswith("_invalid"):
        return "field_invalid"
    return None


LITHUANIAN["field_required"] = "Trūksta privalomo lauko."
LITHUANIAN["field_invalid"] = "Lauko reikšmė neteisinga."
