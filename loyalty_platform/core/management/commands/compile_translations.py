"""Compile locale/<language>/LC_MESSAGES/*.po into the .mo files Django reads, with Babel:
Django's compilemessages needs GNU gettext's msgfmt, which a fresh machine does not have.
Only catalogs whose .mo is missing or older are compiled; `make run` and `make test` call it."""

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def compile_catalog(source: Path) -> None:
    with source.open("rb") as po_file:
        catalog = read_po(po_file, abort_invalid=True)
    # Fuzzy entries are not compiled (they fall back to English), so their problems do not count.
    errors = [
        (message.id, problem)
        for message, problems in catalog.check()
        if not message.fuzzy
        for problem in problems
    ]
    if errors:
        raise CommandError(f"{source}: {errors[0][1]} ({errors[0][0]!r}) and {len(errors) - 1} more")
    target = source.with_suffix(".mo")
    # Written aside and moved into place: a half-written .mo newer than its .po would be
    # skipped by the next run and break every page in its language.
    partial = target.with_suffix(".mo.partial")
    with partial.open("wb") as mo_file:
        write_mo(mo_file, catalog, use_fuzzy=False)
    os.replace(partial, target)


class Command(BaseCommand):
    help = "Compile the translation catalogs (.po) that changed into .mo files."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Compile every catalog, changed or not.")

    def handle(self, *args, **options):
        compiled = 0
        for folder in settings.LOCALE_PATHS:
            for source in sorted(Path(folder).glob("*/LC_MESSAGES/*.po")):
                target = source.with_suffix(".mo")
                if options["all"] or not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
                    compile_catalog(source)
                    compiled += 1
        if compiled:
            self.stdout.write(f"compiled {compiled} translation catalog(s)")
