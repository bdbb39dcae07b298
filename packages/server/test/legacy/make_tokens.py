"""Tokens of the stacks Tessera replaces, made by their own code (run with Debian's /usr/bin/python3).

Reads one JSON request on stdin and prints one JSON answer:
  {"secret": "...", "with_password": [1], "inactive": [20], "revoked_sql": "SELECT ...", "export_command": "<python>", "tokens": [{"name", "format", "user", "kind", "variant"}]}
  -> {"tokens": {name: token}, "revoked": [jti, ...], "exported": [user line, ...]}

simplejwt: the real library (RefreshToken.for_user) under a Django configured here, on an in-memory
SQLite database holding Django's users and simplejwt's token_blacklist tables; `revoked_sql` (the
query docs/migration.md gives) is run on that database after one token per "blacklisted" request was
blacklisted by the library itself, and `export_command` (the management command docs/migration.md
gives) prints the users of that database as the JSON Lines `tessera users import` reads.

flask-jwt-extended and AuthX are not packaged by Debian: their tokens are made with PyJWT in exactly
the claim layout their sources write:
  flask-jwt-extended 4.x, flask_jwt_extended/tokens.py `_encode_jwt` (vimalloc/flask-jwt-extended):
    {"fresh", "iat", "jti": str(uuid4()), "type", <JWT_IDENTITY_CLAIM>: identity, "nbf" (JWT_ENCODE_NBF),
     "exp": now + expires_delta}, datetimes encoded by PyJWT as integer seconds.
  AuthX 1.x, authx/token.py `create_token` via authx/schema.py `TokenPayload.encode` (yezz123/authx):
    {"sub": str(uid), "jti": str(uuid4()), "type", "fresh" (access only), "csrf": "" (no cookie CSRF),
     "iat": int(now), "exp": (now + expiry).timestamp() as a float}.

Variants break one rule each, starting from a token the library made: expired, no_jti, alg_none
(the same claims, unsigned), alg_hs512 (the same claims, a valid HS512 signature with the same
secret), wrong_key, blacklisted (simplejwt: blacklisted through token_blacklist).
"""

import json
import sys
import uuid
from datetime import datetime, timedelta, timezone

import jwt

request = json.load(sys.stdin)
SECRET = request["secret"]
ACCESS_LIFETIME = timedelta(minutes=15)
REFRESH_LIFETIME = timedelta(days=20)


def setup_django():
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="django-insecure-not-the-signing-key-" + "x" * 20,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework_simplejwt.token_blacklist",
        ],
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SIMPLE_JWT={
            "SIGNING_KEY": SECRET,
            "ALGORITHM": "HS256",
            "ACCESS_TOKEN_LIFETIME": ACCESS_LIFETIME,
            "REFRESH_TOKEN_LIFETIME": REFRESH_LIFETIME,
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def simplejwt_token(user_id, kind, variant):
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    User = get_user_model()
    user, created = User.objects.get_or_create(id=user_id, defaults={"username": "user%d" % user_id})
    if created:
        # A real Django hash for the users the export carries; the others have none to carry ("!").
        if user_id in request.get("with_password", []):
            user.set_password("password of user %d" % user_id)
        else:
            user.set_unusable_password()
        user.is_active = user_id not in request.get("inactive", [])
        user.save()
    refresh = RefreshToken.for_user(user)
    token = refresh.access_token if kind == "access" else refresh
    if variant == "expired":
        token.set_exp(lifetime=timedelta(seconds=-3600))
    elif variant == "no_jti":
        del token["jti"]
    elif variant == "blacklisted":
        refresh.blacklist()
    return str(token), dict(token.payload)


def fje_token(identity, kind):
    # flask_jwt_extended/tokens.py _encode_jwt: now = datetime.now(timezone.utc)
    now = datetime.now(timezone.utc)
    token_data = {
        "fresh": False,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "type": kind,
        "sub": identity,
    }
    token_data["nbf"] = now
    token_data["exp"] = now + (ACCESS_LIFETIME if kind == "access" else timedelta(days=30))
    return jwt.encode(token_data, SECRET, "HS256")


def authx_token(uid, kind):
    # authx/schema.py TokenPayload: iat = int(get_now_ts()); authx/token.py create_token
    now = datetime.now(timezone.utc)
    jwt_claims = {"sub": str(uid), "jti": str(uuid.uuid4()), "type": kind}
    if kind == "access":
        jwt_claims["fresh"] = False
    jwt_claims["csrf"] = ""
    jwt_claims["iat"] = int(now.timestamp())
    jwt_claims["exp"] = (now + (ACCESS_LIFETIME if kind == "access" else REFRESH_LIFETIME)).timestamp()
    payload = {} | jwt_claims
    return jwt.encode(payload=payload, key=SECRET, algorithm="HS256", headers=None)


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def vary(token, claims, variant):
    """One rule broken, on claims the library wrote."""
    if variant == "expired":
        return jwt.encode(dict(claims, exp=int(datetime.now(timezone.utc).timestamp()) - 3600), SECRET, "HS256")
    if variant == "no_jti":
        return jwt.encode({k: v for k, v in claims.items() if k != "jti"}, SECRET, "HS256")
    if variant == "alg_none":
        return jwt.encode(claims, None, algorithm="none")
    if variant == "alg_hs512":
        return jwt.encode(claims, SECRET, algorithm="HS512")
    if variant == "wrong_key":
        return jwt.encode(claims, SECRET + "-but-another", algorithm="HS256")
    return token


formats = {t["format"] for t in request["tokens"]}
if "simplejwt" in formats:
    setup_django()

tokens = {}
for spec in request["tokens"]:
    fmt, kind, variant, user = spec["format"], spec["kind"], spec.get("variant", "plain"), spec["user"]
    if fmt == "simplejwt":
        native = variant in ("plain", "expired", "no_jti", "blacklisted")
        token, claims = simplejwt_token(user, kind, variant if native else "plain")
        tokens[spec["name"]] = token if native else vary(token, claims, variant)
    else:
        token = fje_token(user, kind) if fmt == "flask-jwt-extended" else authx_token(user, kind)
        tokens[spec["name"]] = vary(token, claims_of(token), variant)

revoked = []
if "simplejwt" in formats and request.get("revoked_sql"):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(request["revoked_sql"])
        revoked = [row[0] for row in cursor.fetchall()]

exported = []
if "simplejwt" in formats and request.get("export_command"):
    # The management command of docs/migration.md, run as `manage.py` would: its class, its handle().
    import io

    scope = {}
    exec(compile(request["export_command"], "export_tessera_users.py", "exec"), scope)
    command = scope["Command"](stdout=io.StringIO())
    command.handle()
    exported = [json.loads(line) for line in command.stdout._out.getvalue().splitlines() if line]

json.dump({"tokens": tokens, "revoked": revoked, "exported": exported}, sys.stdout)
