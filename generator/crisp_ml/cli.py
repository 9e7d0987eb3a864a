import click


@click.group()
def main() -> None:
    """crisp-ml: create and update CRISP-ML repositories."""
