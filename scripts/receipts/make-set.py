#!/usr/bin/env python3
"""Outlay's receipt test set, generated: the same 72 files every run (a fixed seed).

    make-set.py OUT_DIR

Writes OUT_DIR/manifest.json (each file with what it truly says) and the files:
- 24 clean images and 24 noisy ones (rotated, blurred, speckled, JPEG-compressed), drawn from
  text with the DejaVu fonts (Bitstream Vera licence, Debian's fonts-dejavu-core) in five
  layouts: German till receipts and hotel invoices, US diner and store receipts, UK cafe
  receipts;
- 12 PDF e-invoices: a visible page, and its invoice embedded as XML: 10 Factur-X (CII, put in
  by the factur-x library, which checks the XML against the Factur-X XSD), 2 UBL (XRechnung's
  other syntax);
- 12 PDFs without embedded data, read by OCR after poppler draws them.
"""

import datetime as dt
import json
import random
import sys
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = "/usr/share/fonts/truetype/dejavu/"
FACES = ["DejaVuSansMono.ttf", "DejaVuSans.ttf", "DejaVuSerif.ttf"]

MERCHANTS = {
    "de": ["Bäckerei Müller GmbH", "Café Sonnenschein", "Tankstelle Nord", "Hotel Adler",
           "Buchhandlung Kern", "Restaurant Zur Post", "Taxi Berlin Mitte", "Drogerie Weiss"],
    "us": ["Joe's Diner", "Metro Office Supply", "Blue Bottle Coffee", "Yellow Cab Co",
           "Harbor Grill", "City Parking", "Main Street Deli", "Corner Hardware"],
    "uk": ["The Crown Pub", "Pret Kitchen", "Black Cab London", "Station Bookshop"],
}
ITEMS = {
    "de": ["Kaffee", "Brötchen", "Wasser", "Mittagessen", "Parkgebühr", "Fahrt", "Notizblock",
           "Übernachtung", "Frühstück", "Diesel"],
    "en": ["Coffee", "Sandwich", "Water", "Lunch", "Parking", "Ride", "Notebook", "Pens",
           "Dinner", "Fuel"],
}


def money_de(d):
    whole, frac = f"{d:.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return f"{groups},{frac}"


def money_en(d):
    return f"{d:,.2f}"


def make_items(rng, lang):
    lines = []
    for _ in range(rng.randint(1, 4)):
        qty = rng.randint(1, 3)
        price = Decimal(rng.randint(150, 4800)) / 100
        lines.append((rng.choice(ITEMS[lang]), qty, price))
    return lines


def receipt_text(rng, layout, day):
    """The lines of a receipt, and what it truly says."""
    if layout in ("till-de", "hotel-de"):
        lang, cur = "de", "EUR"
        merchant = rng.choice(MERCHANTS["de"])
    elif layout == "cafe-uk":
        lang, cur = "en", "GBP"
        merchant = rng.choice(MERCHANTS["uk"])
    else:
        lang, cur = "en", "USD"
        merchant = rng.choice(MERCHANTS["us"])
    items = make_items(rng, "de" if lang == "de" else "en")
    gross = sum(q * p for _, q, p in items)
    if layout == "hotel-de":
        gross += Decimal(rng.randint(8000, 39000)) / 100
    rate = Decimal(rng.choice([7, 19])) if lang == "de" else Decimal(20 if cur == "GBP" else 8)
    if cur == "USD":
        tax = (gross * rate / 100).quantize(Decimal("0.01"))
        total = gross + tax
    else:
        total = gross
        tax = (total * rate / (100 + rate)).quantize(Decimal("0.01"))
    m = money_de if lang == "de" else money_en
    t = f"{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}"
    if layout == "till-de":
        lines = [merchant, "Hauptstraße 12", "10115 Berlin", "USt-IdNr. DE" + str(rng.randint(10**8, 10**9 - 1)), ""]
        lines += [f"{q} x {n:<14} {m(p * q):>8}" for n, q, p in items]
        lines += ["-" * 26, f"SUMME EUR {m(total):>10}", f"MwSt {rate}% {m(tax):>10}",
                  f"Gegeben BAR {m(total + 20):>8}", f"Rückgeld {m(Decimal(20)):>8}", "",
                  f"Datum: {day:%d.%m.%Y} {t}", "Vielen Dank für Ihren Einkauf!"]
    elif layout == "hotel-de":
        lines = [merchant, "Am Markt 3 · 80331 München", "", "RECHNUNG Nr. " + str(rng.randint(1000, 9999)),
                 f"Rechnungsdatum: {day:%d.%m.%Y}", ""]
        lines += [f"{n:<18} {m(p * q):>10}" for n, q, p in items]
        lines += ["Übernachtung     " + f"{m(gross - sum(q * p for _, q, p in items)):>10}", "",
                  f"Nettobetrag {m(total - tax):>12}", f"MwSt {rate}% {m(tax):>12}",
                  f"Rechnungsbetrag {m(total):>10} EUR", "", "Zahlbar sofort ohne Abzug."]
    elif layout == "till-us":
        lines = [merchant, f"{rng.randint(10, 999)} Main St", "Springfield, IL 62701", "",
                 f"{day:%m/%d/%Y} {t}", ""]
        lines += [f"{n:<14} {m(p * q):>8}" for n, q, p in items]
        lines += [f"SUBTOTAL {m(gross):>12}", f"SALES TAX {m(tax):>11}", f"TOTAL ${m(total):>11}",
                  f"VISA **** {rng.randint(1000, 9999)}", "", "THANK YOU!"]
    elif layout == "store-us":
        lines = [merchant, "RECEIPT", f"Date: {day:%b %d, %Y}", ""]
        lines += [f"{q} {n:<12} @ {m(p)} {m(p * q):>8}" for n, q, p in items]
        lines += [f"Subtotal {m(gross):>10}", f"Tax {rate}% {m(tax):>10}",
                  f"AMOUNT DUE USD {m(total):>9}", "", "Returns within 30 days"]
    else:  # cafe-uk
        lines = [merchant, "12 High Street, London", f"VAT No. GB{rng.randint(10**8, 10**9 - 1)}", "",
                 f"{day:%d/%m/%Y} {t}", ""]
        lines += [f"{n:<14} £{m(p * q):>7}" for n, q, p in items]
        lines += [f"TOTAL £{m(total):>9}", f"VAT {rate}% incl. £{m(tax)}", "", "Cheers!"]
    truth = {"merchant": merchant, "date": day.isoformat(), "total": f"{total:.2f}",
             "currency": cur, "tax": f"{tax:.2f}"}
    return lines, truth, lang


def draw(lines, rng, noisy):
    face = ImageFont.truetype(FONTS + rng.choice(FACES), rng.choice([26, 30, 34]))
    width = max(int(face.getlength(l)) for l in lines if l) + 80
    step = int(face.size * 1.45)
    img = Image.new("L", (width, step * len(lines) + 80), 255)
    d = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        d.text((40, 40 + i * step), line, font=face, fill=0)
    if not noisy:
        return img, "png"
    img = img.rotate(rng.uniform(-1.5, 1.5), resample=Image.BICUBIC, expand=True, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9)))
    noise = Image.effect_noise(img.size, rng.uniform(20, 35))
    img = Image.blend(img, noise, rng.uniform(0.12, 0.2))
    # A grey, low-contrast paper.
    img = img.point(lambda v: 60 + v * 0.7)
    return img, "jpg"


def invoice_xml_cii(inv):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:factur-x.eu:1p0:minimum</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>{inv['number']}</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">{inv['day']:%Y%m%d}</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty>
        <ram:Name>{inv['merchant']}</ram:Name>
        <ram:PostalTradeAddress><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>Outlay Demo GmbH</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery/>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>{inv['currency']}</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:TaxBasisTotalAmount>{inv['net']}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="{inv['currency']}">{inv['tax']}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{inv['total']}</ram:GrandTotalAmount>
        <ram:DuePayableAmount>{inv['total']}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""


def invoice_xml_ubl(inv):
    c = inv["currency"]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0</cbc:CustomizationID>
  <cbc:ID>{inv['number']}</cbc:ID>
  <cbc:IssueDate>{inv['day']:%Y-%m-%d}</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>{c}</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>{inv['merchant']}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="{c}">{inv['tax']}</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="{c}">{inv['net']}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="{c}">{inv['total']}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="{c}">{inv['total']}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>
"""


def invoice_pdf(lines, attach=None):
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.add_font("DejaVu", fname=FONTS + "DejaVuSans.ttf")
    pdf.set_font("DejaVu", size=13)
    for line in lines:
        pdf.cell(0, 9, line, new_x="LMARGIN", new_y="NEXT")
    if attach:
        name, data = attach
        pdf.embed_file(basename=name, bytes=data, desc="The invoice as XRechnung (UBL)")
    return bytes(pdf.output())


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(14)
    layouts = ["till-de", "hotel-de", "till-us", "store-us", "cafe-uk"]
    manifest = []
    start = dt.date(2026, 1, 5)
    n = 0
    for group in ("clean", "noisy"):
        for i in range(24):
            layout = layouts[i % len(layouts)]
            day = start + dt.timedelta(days=rng.randint(0, 330))
            lines, truth, lang = receipt_text(rng, layout, day)
            img, ext = draw(lines, rng, group == "noisy")
            name = f"{group}-{i:02d}-{layout}.{ext}"
            if ext == "jpg":
                img.save(out / name, quality=rng.randint(35, 60))
            else:
                img.save(out / name)
            manifest.append({"file": name, "group": group, "layout": layout, "lang": lang, "truth": truth})
            n += 1
    for i in range(24):
        layout = "hotel-de" if i % 2 == 0 else "store-us"
        day = start + dt.timedelta(days=rng.randint(0, 330))
        lines, truth, lang = receipt_text(rng, layout, day)
        name = f"{'einvoice' if i < 12 else 'pdf'}-{i:02d}-{layout}.pdf"
        if i < 12:
            total = Decimal(truth["total"])
            tax = Decimal(truth["tax"])
            inv = {"number": f"INV-{2026}-{i:03d}", "day": day, "merchant": truth["merchant"],
                   "currency": truth["currency"], "total": f"{total:.2f}", "tax": f"{tax:.2f}",
                   "net": f"{total - tax:.2f}"}
            if i < 10:
                from facturx import generate_from_binary
                data = generate_from_binary(invoice_pdf(lines), invoice_xml_cii(inv).encode(),
                                            flavor="factur-x", level="minimum", check_xsd=True)
                syntax = "cii"
            else:
                data = invoice_pdf(lines, ("xrechnung.xml", invoice_xml_ubl(inv).encode()))
                syntax = "ubl"
            (out / name).write_bytes(data)
            manifest.append({"file": name, "group": "einvoice", "syntax": syntax, "layout": layout,
                             "lang": lang, "truth": truth})
        else:
            (out / name).write_bytes(invoice_pdf(lines))
            manifest.append({"file": name, "group": "pdf", "layout": layout, "lang": lang, "truth": truth})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(manifest)} receipts in {out}")


if __name__ == "__main__":
    main()
