"""Python 3.12+ syntax around steps: PEP 701 f-strings, walrus, generics, type aliases."""
from hero_tracing import ask_user, logic

type Pair[T] = tuple[T, T]
LIMIT = 1_000_000


@logic(name="modern")
async def modern[T](data: dict, pair: Pair[int] | None = None) -> dict:
    if (n := len(data)) > LIMIT:
        raise logic.Failed(f"too many: {n:_}")
    label = f"{data["name"]} ({f'{data['kind']}'})"
    answer = await ask_user.text(f"Rename {data["name"]}?")
    async with session() as s:
        await logic.invoke("rename", old=label, new=answer)
    return {"label": label, "answer": answer, "n": n}
