"""Arena battles: one prompt answered by two models shown as A and B, and the user's vote.

A battle is written when it starts (the pair is fixed before anyone sees an answer), each
answer when it finishes, the vote once. `winner` NULL means not voted yet; ratings read
only voted battles.
"""

SQL = """
CREATE TABLE arena_battles (
    id          TEXT PRIMARY KEY,
    prompt      TEXT NOT NULL,
    system      TEXT,
    model_a     TEXT NOT NULL,
    model_b     TEXT NOT NULL,
    output_a    TEXT,
    output_b    TEXT,
    settings    TEXT NOT NULL DEFAULT '{}',
    winner      TEXT CHECK (winner IN ('a', 'b', 'tie', 'both_bad')),
    created_at  TEXT NOT NULL,
    voted_at    TEXT
);
CREATE INDEX arena_battles_voted ON arena_battles (voted_at);
"""
