"""Settings, read once from the environment (prefix SPOTCHECK_)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All runtime settings; see docs/operations.md."""

    model_config = SettingsConfigDict(env_prefix="SPOTCHECK_", extra="ignore")

    database_url: str = "sqlite:///spotcheck.db"
    publish_dir: Path = Path("publish")
    # Largest accepted upload (imports, evidence), in bytes.
    max_upload_bytes: int = 200 * 1024 * 1024
    # Longest registry file, in rows; protects memory of the validator.
    max_import_rows: int = 2_000_000
    # An uploaded XLSX is checked against these before it is parsed (app/spreadsheets.py):
    # files inside the ZIP, bytes once inflated, inflated / compressed size (from 8 MiB
    # inflated on), and bytes of one text run (a cell; Excel's own cap is 32,767 characters).
    max_xlsx_entries: int = 200
    max_xlsx_uncompressed_bytes: int = 1 << 30
    max_xlsx_ratio: float = 100.0
    max_xlsx_cell_bytes: int = 128 * 1024
    # Validation errors listed in one problem response; the total is always reported.
    max_listed_errors: int = 1000
    # Days a result has to be published (working days, docs/rules.md#r8-3).
    publish_result_workdays: int = 20
    calendar_override_file: Path | None = None
    # Results of a withheld (after_window) draw go public this many working days before their
    # deadline (app/publish/publisher.py), by the scheduler.
    result_publish_margin_workdays: int = 2
    # Who publishes and runs the periodic jobs in this process (docs/operations.md):
    # "inline" — after a change, the request's worker builds the site in a background task, no
    #   timer (an app made without `spotcheck serve`, e.g. tests);
    # "thread" — a scheduler thread runs the jobs (app/jobs.py); `spotcheck serve` sets it;
    # "off" — this process only records that publication is due: `spotcheck worker` does it.
    scheduler: Literal["inline", "thread", "off"] = "inline"
    # Seconds between the scheduler's ticks; at least between two builds of the site (0: at
    # the next tick — changes arriving during a build are one next build; more: a burst
    # within it is one build); between two checks of time-driven publication.
    scheduler_tick_seconds: float = 1.0
    publish_interval_seconds: float = 0.0
    time_check_seconds: float = 60.0
    # Evidence files (证据材料), content-addressed by SHA-256; never published.
    evidence_dir: Path = Path("var/evidence")
    max_evidence_bytes: int = 20 * 1024 * 1024
    # Credit grade scale, best first (provinces use A–D or A–E).
    credit_grades: str = "A,B,C,D"
    # CSV `code,name` naming local 医保区划 codes (wins over GB/T 2260, app/regions.py).
    regions_file: Path | None = None
    # The server key (32 random bytes, hex) from which plan secrets and recusal keys are derived:
    # kept OUTSIDE the database, so a database dump alone cannot open a commitment
    # (docs/operations.md#server-key). SPOTCHECK_SERVER_KEY (hex) wins over the file; the file is
    # created (mode 0600) on first use when neither exists.
    server_key: str | None = None
    server_key_file: Path = Path("var/server.key")
    # drand relays the service asks for an announced round when no beacon is supplied
    # (comma separated base URLs; empty = never fetch).
    drand_relays: str = "https://api.drand.sh,https://drand.cloudflare.com"
    drand_timeout_seconds: float = 5.0
    # Ed25519 key signing the 检查码 on notices; outside the database, created 0600 on first
    # use (docs/operations.md#检查码签名密钥). Its public key is published on the site.
    signing_key_file: Path = Path("var/inspection-code.key")
    # The public log (docs/transparency-log.md): the log key (Ed25519, C2SP signed-note key,
    # outside the database, created 0600 on first use with the origin below as its name), the
    # witnesses ("VKEY URL" each, separated by ";" or newlines) and how many of them must cosign
    # a checkpoint before what it holds counts as published (0: none configured, embedded).
    log_key_file: Path = Path("var/log.key")
    log_origin: str | None = None
    witnesses: str = ""
    witness_quorum: int = 0
    witness_timeout_seconds: float = 5.0
    # 国密 option (app/gm.py): 检查码 also signed with SM2 (key file outside the database,
    # created 0600 on first use; its public key published beside the Ed25519 ones).
    gm_signatures: bool = False
    sm2_key_file: Path = Path("var/inspection-code-sm2.key")
    # The public site's address as printed in a notice's QR code (e.g.
    # "https://ybj.example.gov.cn/public/"); unset: the address the notice was requested at.
    public_site_url: str | None = None
    # Staff console (docs/operations.md#console-accounts): minutes a sign-in lasts without use,
    # hours it lasts at most however used; consecutive failed sign-ins of one account name
    # from one address that lock that pair, for how many minutes (doubling with each further
    # lockout, up to the maximum).
    session_idle_minutes: float = 30.0
    session_lifetime_hours: float = 12.0
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_lockout_max_minutes: int = 24 * 60
    # Roles whose accounts must sign in with a second factor (TOTP), comma separated.
    totp_required_roles: str = "admin"
    password_min_length: int = 12
    # Days the sign-in audit (every attempt) is kept: at least 183 (six months).
    sign_in_retention_days: int = 365
    # Demo accounts (`spotcheck demo`, published password, no second factor) may sign in:
    # "auto" only on the embedded SQLite database, "on" always, "off" never.
    demo_accounts: Literal["auto", "on", "off"] = "auto"
    # Session cookie's Secure flag: "auto" sets it when the request came over https.
    cookie_secure: str = "auto"

    @property
    def grade_scale(self) -> tuple[str, ...]:
        """The configured credit grades, best first."""
        return _parse_scale(self.credit_grades)

    @property
    def totp_roles(self) -> frozenset[str]:
        """The roles that must sign in with a second factor."""
        return frozenset(r.strip() for r in self.totp_required_roles.split(",") if r.strip())

    @property
    def demo_accounts_allowed(self) -> bool:
        """Whether demo accounts may sign in here."""
        if self.demo_accounts == "auto":
            return self.database_url.startswith("sqlite")
        return self.demo_accounts == "on"

    @field_validator("sign_in_retention_days")
    @classmethod
    def _six_months(cls, v: int) -> int:
        if v < 183:
            raise ValueError("登录审计至少保存 183 天（六个月）(sign-in audit kept ≥ 183 days)")
        return v

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError(
                "SPOTCHECK_DATABASE_URL 仅支持 sqlite 或 postgresql (only sqlite/postgresql)"
            )
        return v


@lru_cache
def _parse_scale(text: str) -> tuple[str, ...]:
    return tuple(g.strip().upper() for g in text.split(",") if g.strip())


@lru_cache
def get_settings() -> Settings:
    """Returns the process-wide settings."""
    return Settings()
