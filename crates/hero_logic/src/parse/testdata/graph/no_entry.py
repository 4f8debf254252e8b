"""No @logic function: the graph says so instead of guessing."""


def main():
    return 1
