"""Real password hashes from the Python libraries Tessera imports users from.

Run with /usr/bin/python3 (Debian's python3-django, python3-werkzeug, python3-passlib,
python3-bcrypt, python3-argon2). Reads one JSON object on standard input:

    {"make": [{"format": F, "password": P}, ...], "check": [{"format": F, "password": P, "hash": H}, ...]}

and writes {"made": [hash, ...], "checked": [bool, ...]} in the same orders: "check" asks the
source library itself whether P matches H, so the tests can show Tessera agrees with it.
"""

import hashlib
import json
import secrets
import sys

import django
from django.conf import settings

settings.configure(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.BCryptPasswordHasher",
    ]
)
django.setup()

import argon2  # noqa: E402  (argon2-cffi)
import bcrypt  # noqa: E402
from django.contrib.auth.hashers import check_password, make_password  # noqa: E402
from passlib.hash import argon2 as passlib_argon2  # noqa: E402
from passlib.hash import bcrypt as passlib_bcrypt  # noqa: E402
from passlib.hash import pbkdf2_sha256 as passlib_pbkdf2_sha256  # noqa: E402
from werkzeug.security import check_password_hash, generate_password_hash  # noqa: E402


def werkzeug3_scrypt(password):
    """Werkzeug 3's scrypt hash, which Debian's Werkzeug 2.2 cannot make: the one hash here not made
    by the library itself. Exactly what werkzeug/security.py (pallets/werkzeug main, 3.1) does:

        salt = secrets.token_urlsafe(salt_length)            # generate_password_hash, salt_length=16
        method, *args = method.split(":")                     # _hash_internal, method "scrypt"
        n, r, p = 2**15, 8, 1                                 # the defaults when no args are given
        maxmem = 132 * n * r * p  # ideally 128, but some extra seems needed
        hashlib.scrypt(password_bytes, salt=salt_bytes, n=n, r=r, p=p, maxmem=maxmem).hex()
        f"scrypt:{n}:{r}:{p}"
        return f"{actual_method}${salt}${h}"
    """
    salt = secrets.token_urlsafe(16)
    n, r, p = 2**15, 8, 1
    maxmem = 132 * n * r * p
    h = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=maxmem).hex()
    return f"scrypt:{n}:{r}:{p}${salt}${h}"


def werkzeug3_scrypt_check(pwhash, password):
    """werkzeug/security.py check_password_hash for scrypt: split, recompute, compare_digest."""
    import hmac

    method, salt, hashval = pwhash.split("$", 2)
    _, n, r, p = method.split(":")
    n, r, p = int(n), int(r), int(p)
    h = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p).hex()
    return hmac.compare_digest(h, hashval)


MAKE = {
    "django-pbkdf2_sha256": lambda pw: make_password(pw, hasher="pbkdf2_sha256"),
    "django-pbkdf2_sha1": lambda pw: make_password(pw, hasher="pbkdf2_sha1"),
    "django-argon2": lambda pw: make_password(pw, hasher="argon2"),
    "django-bcrypt_sha256": lambda pw: make_password(pw, hasher="bcrypt_sha256"),
    "django-bcrypt": lambda pw: make_password(pw, hasher="bcrypt"),
    "werkzeug-pbkdf2": lambda pw: generate_password_hash(pw, method="pbkdf2:sha256"),
    "werkzeug-scrypt": werkzeug3_scrypt,
    "passlib-bcrypt-2b": lambda pw: passlib_bcrypt.hash(pw),
    "passlib-bcrypt-2a": lambda pw: passlib_bcrypt.using(ident="2a").hash(pw),
    "passlib-bcrypt-2y": lambda pw: passlib_bcrypt.using(ident="2y").hash(pw),
    # The FastAPI boilerplate's get_password_hash: bcrypt.hashpw(password.encode(), bcrypt.gensalt()).
    "bcrypt": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt()).decode(),
    "passlib-pbkdf2_sha256": lambda pw: passlib_pbkdf2_sha256.hash(pw),
    "passlib-argon2": lambda pw: passlib_argon2.hash(pw),
    "argon2-cffi": lambda pw: argon2.PasswordHasher().hash(pw),
}


def check(fmt, password, pwhash):
    if fmt.startswith("django-"):
        return check_password(password, pwhash)
    if fmt == "werkzeug-pbkdf2":
        return check_password_hash(pwhash, password)
    if fmt == "werkzeug-scrypt":
        return werkzeug3_scrypt_check(pwhash, password)
    if fmt.startswith("passlib-bcrypt") or fmt == "bcrypt":
        return bcrypt.checkpw(password.encode(), pwhash.encode())
    if fmt == "passlib-pbkdf2_sha256":
        return passlib_pbkdf2_sha256.verify(password, pwhash)
    if fmt in ("passlib-argon2", "argon2-cffi"):
        return passlib_argon2.verify(password, pwhash)
    raise ValueError(f"unknown format {fmt}")


def main():
    request = json.load(sys.stdin)
    made = [MAKE[item["format"]](item["password"]) for item in request.get("make", [])]
    checked = [bool(check(item["format"], item["password"], item["hash"])) for item in request.get("check", [])]
    json.dump({"made": made, "checked": checked}, sys.stdout)


if __name__ == "__main__":
    main()
