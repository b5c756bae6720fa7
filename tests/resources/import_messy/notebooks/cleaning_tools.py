"""Helpers the notebook imports."""


def strip_names(df):
    df = df.copy()
    df["name"] = df["name"].str.strip()
    return df
