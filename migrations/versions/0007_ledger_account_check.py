"""PostgreSQL: a transfer's accounts are checked per statement, and accounts are permanent.

The composite foreign keys (debit/credit account, ledger) -> ledger_account(id, ledger) checked every row on its
own and took a KEY SHARE lock on the account row: for a linked batch of 1,000 that cost more than inserting the
rows, and every credit in a community locked its issuer's row. They are replaced by one AFTER INSERT ... FOR EACH
STATEMENT trigger that checks all the new rows in one query (through the transition table), raising
foreign_key_violation like the constraint did. What the row lock protected against (an account deleted, or
moved to another ledger, under a transfer) is refused outright: accounts are permanent. SQLite keeps the
foreign keys (its checks take no locks).

Revision ID: 0007_ledger_account_check
Revises: 0006_merge_areas
"""

from alembic import op

revision = "0007_ledger_account_check"
down_revision = "0006_merge_areas"
branch_labels = None
depends_on = None

FOREIGN_KEYS = {"fk_ledger_transfer_debit_account": "debit_account_id",
                "fk_ledger_transfer_credit_account": "credit_account_id"}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in FOREIGN_KEYS:
        op.drop_constraint(name, "ledger_transfer", type_="foreignkey")
    op.execute("""
        CREATE FUNCTION ledger_transfer_accounts_exist() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            bad record;
        BEGIN
            SELECT n.id, n.ledger, n.debit_account_id, n.credit_account_id INTO bad FROM new_rows n
            WHERE NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.id = n.debit_account_id AND a.ledger = n.ledger)
               OR NOT EXISTS (SELECT 1 FROM ledger_account a WHERE a.id = n.credit_account_id AND a.ledger = n.ledger)
            LIMIT 1;
            IF FOUND THEN
                RAISE EXCEPTION 'transfer % names an account that does not exist on ledger % (debit %, credit %)',
                    bad.id, bad.ledger, bad.debit_account_id, bad.credit_account_id
                    USING ERRCODE = 'foreign_key_violation';
            END IF;
            RETURN NULL;
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER ledger_transfer_accounts_exist AFTER INSERT ON ledger_transfer
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfer_accounts_exist();
    """)
    op.execute("""
        CREATE FUNCTION ledger_account_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.ledger <> OLD.ledger THEN
                RAISE EXCEPTION 'ledger accounts are permanent: % of account % refused', TG_OP, OLD.id
                    USING ERRCODE = 'restrict_violation';
            END IF;
            RETURN NEW;
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER ledger_account_permanent BEFORE DELETE OR UPDATE OF id, ledger ON ledger_account
        FOR EACH ROW EXECUTE FUNCTION ledger_account_permanent();
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS ledger_account_permanent ON ledger_account")
    op.execute("DROP FUNCTION IF EXISTS ledger_account_permanent()")
    op.execute("DROP TRIGGER IF EXISTS ledger_transfer_accounts_exist ON ledger_transfer")
    op.execute("DROP FUNCTION IF EXISTS ledger_transfer_accounts_exist()")
    for name, column in FOREIGN_KEYS.items():
        op.create_foreign_key(name, "ledger_transfer", "ledger_account", [column, "ledger"], ["id", "ledger"])
