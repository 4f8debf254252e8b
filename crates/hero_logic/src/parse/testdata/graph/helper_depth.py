"""A chain of helpers deeper than the parser follows: the graph is marked truncated."""
from hero_tracing import logic


def h1():
    logic.invoke("step1")
    h2()


def h2():
    logic.invoke("step2")
    h3()


def h3():
    h4()


def h4():
    h5()


def h5():
    h6()


def h6():
    h7()


def h7():
    h8()


def h8():
    logic.invoke("step8")
    h9()


def h9():
    logic.invoke("step9")


@logic(name="deep_helpers")
def deep_helpers() -> dict:
    h1()
    return {}
