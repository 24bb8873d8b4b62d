import {
  Authenticated,
  type ConnectionStatus,
  Unauthenticated,
  type UseListenerResult,
  useLenraAuth,
  useLenraConnection,
  useLenraView,
  useListener,
} from "@lenra/react";
import { type FormEvent, useState, useSyncExternalStore } from "react";
import type { CounterData, TodoData, TodosData } from "./types.ts";

const BADGES: Partial<Record<ConnectionStatus, string>> = {
  open: "connected",
  connecting: "reconnecting",
  reconnecting: "reconnecting",
};
const ignore = () => {}; // a failed login shows in the auth state's `error`

function onHashChange(onChange: () => void) {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

export function App() {
  const path = useSyncExternalStore(onHashChange, () => window.location.hash.slice(1) || "/");
  const connection = useLenraConnection().status;
  const { status, user, error, login, logout } = useLenraAuth();
  const badge = BADGES[connection] ?? "offline";
  const todoId = /^\/todos\/(.+)$/.exec(path)?.[1];
  let page = <Counters />;
  if (path.startsWith("/todos")) {
    if (status !== "authenticated") page = <Hint id="todos-login-hint" text="keep a todo list" />;
    else page = todoId ? <TodoDetail id={todoId} /> : <TodoList />;
  }
  return (
    <>
      <header className="bar">
        <a data-testid="nav-counter" href="#/">
          Counters
        </a>
        <a data-testid="nav-todos" href="#/todos">
          Todos
        </a>
        <span className={`badge ${badge}`} data-testid="connection" data-status={connection}>
          {badge}
        </span>
        <div className="auth">
          <span className="status" data-testid="auth-status">
            {status}
          </span>
          {status === "authenticated" ? (
            <>
              <b data-testid="user">{user?.sub}</b>
              <Button id="logout" label="Log out" onClick={() => logout()} />
            </>
          ) : (
            <>
              <Button id="login" label="Log in" onClick={() => login().catch(ignore)} />
              <Button
                id="login-popup"
                label="Log in with a popup"
                onClick={() => login({ mode: "popup" }).catch(ignore)}
              />
            </>
          )}
          <Failure id="auth-error" error={error} />
        </div>
      </header>
      <main>{page}</main>
    </>
  );
}

function Counters() {
  return (
    <>
      <Counter title="Everyone's counter" path="/counter/global" id="global" />
      <Authenticated>
        <Counter title="Your counter" path="/counter/me" id="me" />
      </Authenticated>
      <Unauthenticated>
        <Hint text="get a counter of your own" />
      </Unauthenticated>
    </>
  );
}

function Counter({ title, path, id }: { title: string; path: string; id: "global" | "me" }) {
  const { data, error } = useLenraView<CounterData>(path);
  const decrement = useListener(data?.onDecrement);
  const increment = useListener(data?.onIncrement);
  return (
    <section className="card">
      <h2>{title}</h2>
      {data ? (
        <div className="counter">
          <Button id={`${id}-dec`} label="−" caller={decrement} />
          <output data-testid={`${id}-value`}>{data.value}</output>
          <Button id={`${id}-inc`} label="+" caller={increment} />
        </div>
      ) : (
        <Failure error={error} loading />
      )}
      <Failure id={`${id}-error`} error={decrement.error ?? increment.error} />
    </section>
  );
}

function TodoList() {
  const { data, error } = useLenraView<TodosData>("/todos");
  const add = useListener(data?.onAdd);
  const [title, setTitle] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.call({ value: title });
    setTitle("");
  };
  return (
    <section className="card">
      <h2>Your todos</h2>
      <form className="add" onSubmit={submit}>
        <input
          data-testid="todo-new"
          aria-label="New todo"
          placeholder="What needs doing?"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
        />
        <button type="submit" data-testid="todo-add" disabled={!data || add.isPending}>
          Add
        </button>
      </form>
      <Failure id="todo-add-error" error={add.error} />
      <ul className="todos">
        {data?.items.map((todo) => (
          <TodoItem key={todo.id} todo={todo} />
        ))}
      </ul>
      {data ? (
        <p className="muted">
          <span data-testid="todos-remaining">{data.remaining}</span> left
        </p>
      ) : (
        <Failure error={error} loading />
      )}
    </section>
  );
}

/** One item of the list: the server already rendered it with the `todo` view (a nested view). */
function TodoItem({ todo }: { todo: TodoData }) {
  const toggle = useListener(todo.onToggle);
  const remove = useListener(todo.onRemove);
  return (
    <li data-testid="todo-item" data-done={String(todo.done)}>
      <input
        type="checkbox"
        data-testid="todo-toggle"
        aria-label="Done"
        checked={todo.done}
        disabled={toggle.isPending}
        onChange={() => toggle.call()}
      />
      <a data-testid="todo-link" href={`#/todos/${todo.id}`}>
        <span data-testid="todo-title">{todo.title}</span>
      </a>
      <Button id="todo-remove" label="Remove" caller={remove} />
      <Failure error={toggle.error ?? remove.error} />
    </li>
  );
}

function TodoDetail({ id }: { id: string }) {
  const { data, error } = useLenraView<TodoData>(`/todos/${id}`);
  const toggle = useListener(data?.onToggle);
  return (
    <section className="card">
      <a data-testid="todo-back" href="#/todos">
        ← All todos
      </a>
      {data && !error ? (
        <>
          <h2 data-testid="todo-detail-title">{data.title}</h2>
          <p>
            This todo is <b data-testid="todo-detail-done">{data.done ? "done" : "open"}</b>.
          </p>
          <Button id="todo-detail-toggle" label={data.done ? "Reopen" : "Done"} caller={toggle} />
          <Failure error={toggle.error} />
        </>
      ) : (
        <Failure id="todo-detail-error" error={error} loading />
      )}
    </section>
  );
}

type ButtonProps = {
  id: string;
  label: string;
  onClick?: () => void;
  caller?: UseListenerResult<unknown>; // a listener call: disabled while it runs
};

function Button({ id, label, onClick, caller }: ButtonProps) {
  const click = onClick ?? (() => caller?.call());
  return (
    <button type="button" data-testid={id} disabled={caller?.isPending} onClick={click}>
      {label}
    </button>
  );
}

function Hint({ id, text }: { id?: string; text: string }) {
  return <p className="hint" data-testid={id}>{`Log in to ${text}.`}</p>;
}

/** An error message when there is one, else "Loading…" when asked to. */
function Failure({ id, error, loading }: { id?: string; error?: Error; loading?: boolean }) {
  if (error)
    return (
      <p className="error" data-testid={id}>
        {error.message}
      </p>
    );
  return loading ? <p className="muted">Loading…</p> : null;
}
