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
import { type FormEvent, useEffect, useState, useSyncExternalStore } from "react";
import { logForDevelopers, userMessage } from "./messages.ts";
import type { CounterData, TodoData, TodosData } from "./types.ts";

/**
 * The connection badge: "connecting" until the socket first opens, "reconnecting" while it
 * comes back, "signed out" when the server refused the session, "offline" once the app closed it.
 */
const BADGES: Record<ConnectionStatus, string> = {
  idle: "connecting",
  connecting: "connecting",
  open: "connected",
  reconnecting: "reconnecting",
  unauthorized: "signed out",
  closed: "offline",
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
  const badge = BADGES[connection];
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
        <span
          className={`badge ${badge.replace(" ", "-")}`}
          data-testid="connection"
          data-status={connection}
        >
          {badge}
        </span>
        <div className="auth">
          <span className="status" data-testid="auth-status">
            {status}
          </span>
          {status === "authenticated" ? (
            <>
              <b data-testid="user">{user?.sub}</b>
              {/* Ending the login server's session too lets another person log in next. */}
              <Button id="logout" label="Log out" onClick={() => logout({ endSession: true })} />
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
  const { data, error, isStale } = useLenraView<CounterData>(path);
  const decrement = useListener(data?.onDecrement);
  const increment = useListener(data?.onIncrement);
  return (
    <section className={isStale ? "card stale" : "card"}>
      <h2>{title}</h2>
      {data ? (
        <div className="counter">
          <Button id={`${id}-dec`} label="−" caller={decrement} stale={isStale} />
          <output data-testid={`${id}-value`}>{data.value}</output>
          <Button id={`${id}-inc`} label="+" caller={increment} stale={isStale} />
        </div>
      ) : (
        <Failure error={error} loading />
      )}
      <Stale id={`${id}-stale`} isStale={isStale} />
      <Failure id={`${id}-error`} error={decrement.error ?? increment.error} />
    </section>
  );
}

function TodoList() {
  const { data, error, isStale } = useLenraView<TodosData>("/todos");
  const add = useListener(data?.onAdd);
  const [title, setTitle] = useState("");
  // The text of the todo being added: the field empties once it is added, and keeps the text
  // after a failure, to fix and send again.
  const [sent, setSent] = useState<string>();
  useEffect(() => {
    if (sent === undefined || add.isPending) return;
    if (!add.error) setTitle((current) => (current === sent ? "" : current));
    setSent(undefined);
  }, [sent, add.isPending, add.error]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSent(title);
    void add.call({ value: title });
  };
  return (
    <section className={isStale ? "card stale" : "card"}>
      <h2>Your todos</h2>
      <form className="add" onSubmit={submit}>
        <input
          data-testid="todo-new"
          aria-label="New todo"
          placeholder="What needs doing?"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
        />
        <button type="submit" data-testid="todo-add" disabled={!data || add.isPending || isStale}>
          Add
        </button>
      </form>
      <Failure id="todo-add-error" error={add.error} />
      <ul className="todos">
        {data?.items.map((todo) => (
          <TodoItem key={todo.id} todo={todo} stale={isStale} />
        ))}
      </ul>
      {data ? (
        <p className="muted">
          <span data-testid="todos-remaining">{data.remaining}</span> left
        </p>
      ) : (
        <Failure error={error} loading />
      )}
      <Stale id="todos-stale" isStale={isStale} />
    </section>
  );
}

/** One item of the list: the server already rendered it with the `todo` view (a nested view). */
function TodoItem({ todo, stale }: { todo: TodoData; stale: boolean }) {
  const toggle = useListener(todo.onToggle);
  const remove = useListener(todo.onRemove);
  return (
    <li data-testid="todo-item" data-done={String(todo.done)}>
      <input
        type="checkbox"
        data-testid="todo-toggle"
        aria-label="Done"
        checked={todo.done}
        disabled={toggle.isPending || stale}
        onChange={() => toggle.call()}
      />
      <a data-testid="todo-link" href={`#/todos/${todo.id}`}>
        <span data-testid="todo-title">{todo.title}</span>
      </a>
      <Button id="todo-remove" label="Remove" caller={remove} stale={stale} />
      <Failure error={toggle.error ?? remove.error} />
    </li>
  );
}

function TodoDetail({ id }: { id: string }) {
  const { data, error, isStale } = useLenraView<TodoData>(`/todos/${id}`);
  const toggle = useListener(data?.onToggle);
  return (
    <section className={isStale ? "card stale" : "card"}>
      <a data-testid="todo-back" href="#/todos">
        ← All todos
      </a>
      {data && !error ? (
        <>
          <h2 data-testid="todo-detail-title">{data.title}</h2>
          <p>
            This todo is <b data-testid="todo-detail-done">{data.done ? "done" : "open"}</b>.
          </p>
          <Button
            id="todo-detail-toggle"
            label={data.done ? "Reopen" : "Done"}
            caller={toggle}
            stale={isStale}
          />
          <Failure error={toggle.error} />
        </>
      ) : (
        <Failure id="todo-detail-error" error={error} loading />
      )}
      <Stale id="todo-detail-stale" isStale={isStale} />
    </section>
  );
}

type ButtonProps = {
  id: string;
  label: string;
  onClick?: () => void;
  caller?: UseListenerResult<unknown>; // a listener call: disabled while it runs
  stale?: boolean; // the view is out of date (socket down): no call until it is back
};

function Button({ id, label, onClick, caller, stale }: ButtonProps) {
  const click = onClick ?? (() => caller?.call());
  return (
    <button type="button" data-testid={id} disabled={caller?.isPending || stale} onClick={click}>
      {label}
    </button>
  );
}

function Hint({ id, text }: { id?: string; text: string }) {
  return <p className="hint" data-testid={id}>{`Log in to ${text}.`}</p>;
}

/** Says the values shown may be out of date, while the view waits for the server. */
function Stale({ id, isStale }: { id: string; isStale: boolean }) {
  if (!isStale) return null;
  return (
    <p className="stale-note" data-testid={id}>
      Waiting for the server: this may be out of date.
    </p>
  );
}

/**
 * An error in words for the person using the app (the error itself goes to the console in
 * development), else "Loading…" when asked to.
 */
function Failure({ id, error, loading }: { id?: string; error?: Error; loading?: boolean }) {
  useEffect(() => {
    if (error) logForDevelopers(error);
  }, [error]);
  if (error)
    return (
      <p className="error" data-testid={id}>
        {userMessage(error)}
      </p>
    );
  return loading ? <p className="muted">Loading…</p> : null;
}
