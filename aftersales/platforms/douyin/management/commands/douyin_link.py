from django.core.management.base import BaseCommand, CommandError

from aftersales.core.actors import Actor
from aftersales.core.errors import DomainError
from aftersales.platforms.douyin.models import PRODUCTION_GATEWAY
from aftersales.platforms.douyin.services import link_shop
from aftersales.shops.models import Shop


class Command(BaseCommand):
    help = "Connect a shop to the Douyin open platform (or change its connection)."

    def add_arguments(self, parser):
        parser.add_argument("--shop", required=True, help="the shop's pk or its platform shop id")
        parser.add_argument("--app-key", required=True)
        parser.add_argument(
            "--app-secret-file", help="read the secret from this file (else DOUYIN_APP_SECRET)"
        )
        parser.add_argument("--platform-shop-id", required=True)
        parser.add_argument("--gateway", default=PRODUCTION_GATEWAY)
        parser.add_argument("--sign-method", default="md5", choices=["md5", "hmac-sha256"])
        parser.add_argument("--return-address-id", default="")
        parser.add_argument(
            "--return-address", default="", help="the return address as the buyer reads it"
        )

    def handle(self, *args, **options):
        import os

        if options["app_secret_file"]:
            with open(options["app_secret_file"]) as handle:
                secret = handle.read().strip()
        else:
            secret = os.environ.get("DOUYIN_APP_SECRET", "")
        wanted = options["shop"]
        shop = Shop.objects.filter(pk=int(wanted)).first() if wanted.isdigit() else None
        shop = shop or Shop.objects.filter(platform_shop_id=wanted).first()
        if shop is None:
            raise CommandError(f"no shop {options['shop']}")
        try:
            link = link_shop(
                shop=shop,
                app_key=options["app_key"],
                app_secret=secret,
                platform_shop_id=options["platform_shop_id"],
                gateway_url=options["gateway"],
                sign_method=options["sign_method"],
                receiver_address_id=options["return_address_id"],
                return_address=options["return_address"],
                by=Actor.system("douyin_link command"),
            )
        except DomainError as exc:
            raise CommandError(exc.render("en")) from exc
        self.stdout.write(f"{shop} linked to Douyin app {link.app_key} via {link.gateway_url}")
