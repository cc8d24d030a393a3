"""Chunking of real snippets, one per language: symbols, kinds, views and line spans."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

from codeintel.indexer.chunking import ChunkLimits, chunk_file
from codeintel.indexer.discover import read_file
from codeintel.indexer.languages import language_for
from codeintel.indexer.models import Chunk
from codeintel.settings import IndexSettings
from tests.conftest import write_files

# Small enough that every snippet's class is split into members and its large function
# into parts.
LIMITS = ChunkLimits(max_chars=300)

_RAW = {
    "inventory.py": r'''
"""Inventory helpers."""

import os
from dataclasses import dataclass

DEFAULT_LIMIT = 10


@dataclass
class Store:
    """A store of items keyed by name."""

    name: str

    def add(self, item: str, count: int = 1) -> None:
        """Add ``count`` of ``item``."""
        self.items[item] = self.items.get(item, 0) + count

    @property
    def total(self) -> int:
        return sum(self.items.values())

    async def refresh(self) -> None:
        # reload from disk
        self.items = load(self.name)


def load(name: str) -> dict[str, int]:
    """Read a store file."""
    with open(os.path.join("stores", name)) as handle:
        return dict(line.split("=") for line in handle)


def report(stores: list[Store]) -> str:
    lines = []
    for store in stores:
        lines.append(f"store {store.name}")
        lines.append(f"  total {store.total}")
        for item, count in sorted(store.items.items()):
            lines.append(f"  {item}: {count}")
        if store.total > DEFAULT_LIMIT:
            lines.append("  over the limit")
        else:
            lines.append("  within the limit")
    summary = sum(store.total for store in stores)
    lines.append(f"all stores: {summary}")
    lines.append("end of report")
    width = max(len(line) for line in lines)
    lines.append("=" * width)
    return "\n".join(lines)


if __name__ == "__main__":
    print(report([Store("main")]))
''',
    "cache.js": r"""
import { readFile } from "fs/promises";

const RETRIES = 3;

/**
 * A cache of parsed documents.
 */
export class DocCache {
  /** Create an empty cache. */
  constructor(limit) {
    this.limit = limit;
    this.items = new Map();
  }

  // Fetch a document, parsing it on first use.
  async get(path) {
    if (!this.items.has(path)) {
      this.items.set(path, JSON.parse(await readFile(path, "utf8")));
    }
    return this.items.get(path);
  }

  static empty() {
    return new DocCache(0);
  }
}

// Double a number.
export const double = (x) => x * 2;

const shout = function (text) {
  return text.toUpperCase() + "!";
};

export function render(doc, options) {
  const parts = [];
  parts.push(`<h1>${doc.title}</h1>`);
  for (const section of doc.sections) {
    parts.push(`<h2>${section.title}</h2>`);
    for (const paragraph of section.paragraphs) {
      parts.push(`<p>${paragraph}</p>`);
    }
  }
  if (options.footer) {
    parts.push(`<footer>${options.footer}</footer>`);
  }
  if (options.shout) {
    parts.push(shout(doc.title));
  }
  const html = parts.join("\n");
  const size = html.length * RETRIES;
  console.log(`rendered ${size} bytes`);
  return html;
}

console.log(double(RETRIES));
""",
    "router.ts": r"""
import type { Request } from "./http";

/** Options of a router. */
export interface RouterOptions {
  prefix: string;
  strict?: boolean;
}

export type Handler = (req: Request) => Promise<string>;

export enum Method {
  Get = "GET",
  Post = "POST",
}

/** Routes requests to handlers. */
export class Router {
  private routes = new Map<string, Handler>();

  constructor(private readonly options: RouterOptions) {}

  /** Register a handler for a path. */
  add(path: string, handler: Handler): this {
    this.routes.set(this.options.prefix + path, handler);
    return this;
  }

  async dispatch(req: Request): Promise<string> {
    const handler = this.routes.get(req.path);
    return handler ? handler(req) : "404";
  }
}

export const notFound: Handler = async (req) => {
  return `no route for ${req.path}`;
};

export function buildRouter(options: RouterOptions): Router {
  const router = new Router(options);
  router.add("/", async () => "home");
  router.add("/about", async () => "about");
  router.add("/health", async () => "ok");
  router.add("/version", async () => "1.0.0");
  router.add("/users", async (req) => `users ${req.path}`);
  router.add("/teams", async (req) => `teams ${req.path}`);
  router.add("/login", async (req) => `login ${req.path}`);
  router.add("/logout", async (req) => `logout ${req.path}`);
  router.add("/settings", async (req) => `settings ${req.path}`);
  router.add("/search", async (req) => `search ${req.path}`);
  router.add("/admin", async (req) => `admin ${req.path}`);
  router.add("/metrics", async (req) => `metrics ${req.path}`);
  return router;
}
""",
    "counter.tsx": r"""
import React, { useState } from "react";

/** Props of a counter. */
interface CounterProps {
  start: number;
}

/** A button that counts clicks. */
export const Counter = ({ start }: CounterProps) => {
  const [count, setCount] = useState(start);
  return <button onClick={() => setCount(count + 1)}>{count}</button>;
};

export default function App(): JSX.Element {
  return (
    <main>
      <Counter start={0} />
    </main>
  );
}
""",
    "server.go": r"""
package server

import (
	"fmt"
	"net/http"
)

// MaxConns bounds open connections.
const MaxConns = 64

// Server serves HTTP requests.
type Server struct {
	addr  string
	conns int
}

// NewServer makes a server for addr.
func NewServer(addr string) *Server {
	return &Server{addr: addr}
}

// Run starts listening.
func (s *Server) Run() error {
	return http.ListenAndServe(s.addr, nil)
}

func (s Server) String() string {
	return fmt.Sprintf("server %s", s.addr)
}

// Handle routes one request.
func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {
	s.conns++
	defer func() { s.conns-- }()
	if s.conns > MaxConns {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/":
		fmt.Fprintln(w, "home")
	case "/health":
		fmt.Fprintln(w, "ok")
	case "/version":
		fmt.Fprintln(w, "1.0")
	default:
		http.NotFound(w, r)
	}
	fmt.Printf("served %s for %s\n", r.URL.Path, r.RemoteAddr)
	fmt.Printf("open connections: %d\n", s.conns)
	fmt.Printf("server address: %s\n", s.addr)
}
""",
    "cache.rs": r"""
use std::collections::HashMap;

/// Maximum number of entries.
pub const MAX: usize = 128;

/// A bounded key-value cache.
pub struct Cache {
    items: HashMap<String, String>,
}

impl Cache {
    /// Make an empty cache.
    pub fn new() -> Self {
        Cache { items: HashMap::new() }
    }

    /// Insert a value, evicting when full.
    pub fn insert(&mut self, key: &str, value: &str) {
        if self.items.len() >= MAX {
            self.items.clear();
        }
        self.items.insert(key.to_string(), value.to_string());
    }
}

/// Things that can be described.
pub trait Describe {
    /// One line about the value.
    fn describe(&self) -> String;
}

impl Describe for Cache {
    fn describe(&self) -> String {
        format!("cache of {}", self.items.len())
    }
}

pub fn summarize(cache: &Cache, keys: &[&str]) -> String {
    let mut out = String::new();
    for key in keys {
        match cache.items.get(*key) {
            Some(value) => out.push_str(&format!("{key}={value}\n")),
            None => out.push_str(&format!("{key} missing\n")),
        }
    }
    let total = cache.items.len();
    out.push_str(&format!("total entries: {total}\n"));
    out.push_str(&format!("capacity: {MAX}\n"));
    out.push_str(&format!("free slots: {}\n", MAX - total));
    out.push_str(&format!("asked for: {}\n", keys.len()));
    out.push_str(&cache.describe());
    out.push_str("\nend of summary\n");
    out
}
""",
    "Cart.java": r"""
package shop;

import java.util.ArrayList;
import java.util.List;

/**
 * A shopping cart.
 */
public class Cart {
    private final List<Item> items = new ArrayList<>();

    /** Create an empty cart. */
    public Cart() {
    }

    /**
     * Add an item to the cart.
     */
    public void add(Item item) {
        items.add(item);
    }

    // Sum of all prices.
    public int total() {
        int sum = 0;
        for (Item item : items) {
            sum += item.price();
        }
        return sum;
    }

    public String receipt(String customer) {
        StringBuilder out = new StringBuilder();
        out.append("Receipt for ").append(customer).append("\n");
        for (Item item : items) {
            out.append(item.name()).append(": ").append(item.price()).append("\n");
        }
        out.append("Items: ").append(items.size()).append("\n");
        out.append("Total: ").append(total()).append("\n");
        if (total() > 100) {
            out.append("Free shipping applies\n");
        } else {
            out.append("Shipping: 5\n");
        }
        out.append("Thank you for shopping with us\n");
        out.append("Please come again\n");
        return out.toString();
    }
}

/** One line of a cart. */
record Item(String name, int price) {}
""",
    "buffer.c": r"""
#include <stdio.h>
#include <stdlib.h>

#define BUF_SIZE 256

/* A growable byte buffer. */
struct buffer {
    char *data;
    size_t len;
};

static int verbose = 0;

/* Append one byte, growing the buffer. */
int buffer_push(struct buffer *buf, char byte)
{
    char *grown = realloc(buf->data, buf->len + 1);
    if (grown == NULL) {
        return -1;
    }
    grown[buf->len++] = byte;
    buf->data = grown;
    return 0;
}

// Print a buffer with a header and statistics.
void buffer_dump(const struct buffer *buf, FILE *out)
{
    size_t letters = 0, digits = 0, other = 0;
    fprintf(out, "buffer of %zu bytes\n", buf->len);
    for (size_t i = 0; i < buf->len; i++) {
        char c = buf->data[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            letters++;
        } else if (c >= '0' && c <= '9') {
            digits++;
        } else {
            other++;
        }
        fputc(c, out);
    }
    fprintf(out, "\nletters: %zu\n", letters);
    fprintf(out, "digits: %zu\n", digits);
    fprintf(out, "other: %zu\n", other);
    if (verbose) {
        fprintf(out, "capacity: %d\n", BUF_SIZE);
    }
}

int main(void)
{
    struct buffer buf = {0};
    buffer_push(&buf, 'x');
    buffer_dump(&buf, stdout);
    return 0;
}
""",
    "polygon.cpp": r"""
#include <string>
#include <vector>

namespace geo {

/// A point in the plane.
struct Point {
    double x;
    double y;
};

/// A closed polygon.
class Polygon {
public:
    /// Build from vertices.
    explicit Polygon(std::vector<Point> points) : points_(std::move(points)) {}

    /// The enclosed area.
    double area() const;

    std::size_t size() const { return points_.size(); }

private:
    std::vector<Point> points_;
};

double Polygon::area() const {
    double sum = 0;
    for (std::size_t i = 0; i < points_.size(); ++i) {
        const Point &a = points_[i];
        const Point &b = points_[(i + 1) % points_.size()];
        sum += a.x * b.y - b.x * a.y;
    }
    return sum / 2;
}

template <typename T>
T clamp(T value, T low, T high) {
    return value < low ? low : (value > high ? high : value);
}

}  // namespace geo

std::string describe(const geo::Polygon &polygon) {
    std::string out = "polygon";
    out += " with ";
    out += std::to_string(polygon.size());
    out += " vertices";
    out += " and area ";
    out += std::to_string(polygon.area());
    if (polygon.area() > 100.0) {
        out += " (large)";
    } else if (polygon.area() > 10.0) {
        out += " (medium)";
    } else {
        out += " (small)";
    }
    out += "; clamped area ";
    out += std::to_string(geo::clamp(polygon.area(), 0.0, 50.0));
    out += ".";
    return out;
}
""",
    "Invoice.cs": r"""
using System;
using System.Collections.Generic;

namespace Billing
{
    /// <summary>An invoice of line items.</summary>
    public class Invoice
    {
        private readonly List<decimal> _lines = new List<decimal>();

        /// <summary>The customer billed.</summary>
        public string Customer { get; set; }

        /// <summary>Sum of all lines.</summary>
        public decimal Total => _lines.Sum();

        public Invoice(string customer)
        {
            Customer = customer;
        }

        /// <summary>Add a line.</summary>
        public void Add(decimal amount)
        {
            if (amount < 0) throw new ArgumentException("negative");
            _lines.Add(amount);
        }

        public string Render()
        {
            var text = $"Invoice for {Customer}\n";
            foreach (var line in _lines)
            {
                text += $"  {line:C}\n";
            }
            text += $"Lines: {_lines.Count}\n";
            text += $"Total: {Total:C}\n";
            if (Total > 1000m)
            {
                text += "Payment due in 60 days\n";
            }
            else
            {
                text += "Payment due in 30 days\n";
            }
            text += "Thank you for your business\n";
            return text;
        }
    }

    public interface IPrinter
    {
        void Print(Invoice invoice);
    }
}
""",
    "order.rb": r"""
require "json"

DEFAULT_TAX = 0.2

# Money helpers.
module Money
  # Format cents as a price.
  def self.format(cents)
    format("%.2f", cents / 100.0)
  end
end

# An order of products.
class Order
  attr_reader :lines

  # Build an empty order.
  def initialize(customer)
    @customer = customer
    @lines = []
  end

  def add(product, cents)
    @lines << [product, cents]
    self
  end

  def self.load(path)
    new(JSON.parse(File.read(path))["customer"])
  end

  def summary(tax = DEFAULT_TAX)
    out = ["Order for #{@customer}"]
    @lines.each do |product, cents|
      out << "  #{product}: #{Money.format(cents)}"
    end
    subtotal = @lines.sum { |_, cents| cents }
    out << "Subtotal: #{Money.format(subtotal)}"
    out << "Tax: #{Money.format(subtotal * tax)}"
    out << "Total: #{Money.format(subtotal * (1 + tax))}"
    if subtotal > 10_000
      out << "Free delivery"
    else
      out << "Delivery: #{Money.format(500)}"
    end
    out << "Thank you"
    out.join("\n")
  end
end

puts Order.new("ann").add("tea", 300).summary
""",
    "Message.php": r"""
<?php

namespace App\Mail;

use App\Models\User;

const MAX_RECIPIENTS = 50;

/**
 * Something that can be sent.
 */
interface Sendable
{
    public function send(): bool;
}

/**
 * A mail message to users.
 */
class Message implements Sendable
{
    private array $to = [];

    /** Build a message with a subject. */
    public function __construct(private string $subject)
    {
    }

    // Add a recipient.
    public function to(User $user): static
    {
        $this->to[] = $user->email;
        return $this;
    }

    public static function welcome(User $user): self
    {
        return (new self("Welcome"))->to($user);
    }

    public function send(): bool
    {
        if (count($this->to) > MAX_RECIPIENTS) {
            return false;
        }
        $headers = "From: app@example.com\r\n";
        $headers .= "Reply-To: help@example.com\r\n";
        $headers .= "X-Mailer: App\r\n";
        $body = "Hello,\n\n";
        $body .= "This is the message {$this->subject}.\n";
        $body .= "Regards,\nThe App\n";
        foreach ($this->to as $address) {
            mail($address, $this->subject, $body, $headers);
        }
        error_log("sent {$this->subject} to " . count($this->to));
        return true;
    }
}

function mailer(): Message
{
    return new Message("Hello");
}
""",
    "Library.kt": r"""
package app.library

import java.time.LocalDate

const val LOAN_DAYS = 21

/** A book in the catalogue. */
data class Book(val title: String, val author: String)

/**
 * A library lending books.
 */
class Library(private val name: String) {
    private val loans = mutableMapOf<Book, LocalDate>()

    val count: Int
        get() = loans.size

    /** Lend a book until its due date. */
    fun lend(book: Book, today: LocalDate): LocalDate {
        val due = today.plusDays(LOAN_DAYS.toLong())
        loans[book] = due
        return due
    }

    // Return a book.
    fun giveBack(book: Book) {
        loans.remove(book)
    }

    companion object {
        fun empty() = Library("empty")
    }
}

object Registry {
    fun find(name: String): Library? = null
}

fun overdue(library: Library, loans: Map<Book, LocalDate>, today: LocalDate): List<String> {
    val lines = mutableListOf<String>()
    for ((book, due) in loans) {
        if (due.isBefore(today)) {
            lines.add("${book.title} by ${book.author} was due $due")
        }
    }
    lines.add("checked ${loans.size} loans")
    lines.add("library has ${library.count} books out")
    if (lines.size > 10) {
        lines.add("many overdue books")
    } else {
        lines.add("few overdue books")
    }
    lines.add("report made on $today")
    lines.add("end of report")
    return lines
}
""",
    "Todo.swift": r"""
import Foundation

let maxItems = 20

/// Something with a display title.
protocol Titled {
    var title: String { get }
    func render() -> String
}

/// A to-do list.
class TodoList: Titled {
    let title: String
    private var items: [String] = []

    /// Make an empty list.
    init(title: String) {
        self.title = title
    }

    /// Add an item.
    func add(_ item: String) {
        items.append(item)
    }

    var count: Int {
        return items.count
    }

    func render() -> String {
        var out = "# \(title)\n"
        for (index, item) in items.enumerated() {
            out += "\(index + 1). \(item)\n"
        }
        out += "items: \(items.count)\n"
        out += "limit: \(maxItems)\n"
        if items.count > maxItems {
            out += "too many items\n"
        } else {
            out += "room for \(maxItems - items.count) more\n"
        }
        out += "end of list\n"
        return out
    }
}

struct Point {
    var x: Double
    var y: Double

    func distance(to other: Point) -> Double {
        return ((x - other.x) * (x - other.x) + (y - other.y) * (y - other.y)).squareRoot()
    }
}

extension TodoList {
    func clear() {
        items.removeAll()
    }
}

// Greet someone.
func greet(_ name: String) -> String {
    return "Hello, \(name)"
}
""",
    "Shapes.scala": r"""
package shapes

import scala.math.Pi

/** A shape with an area. */
trait Shape {
  def area: Double
  def name: String = "shape"
}

/** A circle. */
case class Circle(radius: Double) extends Shape {
  override def area: Double = Pi * radius * radius

  // The circumference.
  def circumference: Double = 2 * Pi * radius
}

object Shapes {
  val unit: Circle = Circle(1)

  /** The largest shape. */
  def largest(shapes: Seq[Shape]): Shape = shapes.maxBy(_.area)

  def report(shapes: Seq[Shape]): String = {
    val lines = scala.collection.mutable.ListBuffer[String]()
    for (shape <- shapes) {
      lines += s"${shape.name}: ${shape.area}"
    }
    lines += s"count: ${shapes.size}"
    lines += s"total area: ${shapes.map(_.area).sum}"
    if (shapes.nonEmpty) {
      lines += s"largest: ${largest(shapes).name}"
    } else {
      lines += "no shapes"
    }
    lines += s"unit circle area: ${unit.area}"
    lines += "end of report"
    lines.mkString("\n")
  }
}

def main(): Unit = println(Shapes.report(Seq(Shapes.unit)))
""",
    "backup.sh": r"""
#!/usr/bin/env bash
set -euo pipefail

BACKUP_DIR="${BACKUP_DIR:-/var/backups}"

# Print a message with a timestamp.
log() {
    echo "[$(date +%T)] $*" >&2
}

function rotate {
    local keep="$1"
    ls -1t "$BACKUP_DIR" | tail -n "+$((keep + 1))" | xargs -r rm --
}

# Back up one directory.
backup() {
    local source="$1"
    local name
    name="$(basename "$source")-$(date +%F).tar.gz"
    log "backing up $source"
    if [ ! -d "$source" ]; then
        log "missing $source"
        return 1
    fi
    tar -czf "$BACKUP_DIR/$name" -C "$(dirname "$source")" "$(basename "$source")"
    log "wrote $BACKUP_DIR/$name"
    sha256sum "$BACKUP_DIR/$name" > "$BACKUP_DIR/$name.sha256"
    log "checksum written"
    du -h "$BACKUP_DIR/$name" | cut -f1 | xargs -I{} echo "size {}"
    rotate 7
    log "rotation done"
}

for dir in "$@"; do
    backup "$dir"
done
""",
}
SNIPPETS = {name: text.removeprefix("\n") for name, text in _RAW.items()}


@dataclass(frozen=True)
class Case:
    """What one snippet must chunk into (definition chunks only, split parts counted once)."""

    path: str
    definitions: list[tuple[str, str, str]]  # (kind, symbol, parent), in file order
    signatures: dict[str, str]
    docstrings: dict[str, str]
    spans: dict[str, tuple[int, int]]  # symbol → first..last line over all its parts
    container: str  # a container split into a header chunk and member chunks
    member_lines: list[str]  # member declarations its skeleton lists
    hidden: str  # a member's body line its skeleton leaves out
    split: str  # a definition too large for one chunk
    members_when_small: list[str] = field(default_factory=list)  # at max_chars=50


CASES = [
    Case(
        "inventory.py",
        [
            ("class", "Store", ""),
            ("method", "Store.add", "Store"),
            ("method", "Store.total", "Store"),
            ("method", "Store.refresh", "Store"),
            ("function", "load", ""),
            ("function", "report", ""),
        ],
        signatures={
            "Store.add": "def add(self, item: str, count: int = 1) -> None:",
            "Store.refresh": "async def refresh(self) -> None:",
        },
        docstrings={"Store": "A store of items keyed by name.", "load": "Read a store file."},
        spans={"Store": (9, 13), "Store.total": (19, 21), "load": (28, 31), "report": (34, 50)},
        container="Store",
        member_lines=[
            "    def add(self, item: str, count: int = 1) -> None:",
            "    def total(self) -> int:",
        ],
        hidden="        return sum(self.items.values())",
        split="report",
    ),
    Case(
        "cache.js",
        [
            ("class", "DocCache", ""),
            ("method", "DocCache.constructor", "DocCache"),
            ("method", "DocCache.get", "DocCache"),
            ("method", "DocCache.empty", "DocCache"),
            ("function", "double", ""),
            ("function", "shout", ""),
            ("function", "render", ""),
        ],
        signatures={
            "double": "export const double = (x) =>",
            "shout": "const shout = function (text)",
            "DocCache.get": "async get(path)",
        },
        docstrings={
            "DocCache": "A cache of parsed documents.",
            "DocCache.constructor": "Create an empty cache.",
            "double": "Double a number.",
        },
        spans={"double": (28, 29), "shout": (31, 33), "render": (35, 54)},
        container="DocCache",
        member_lines=["  constructor(limit) {", "  static empty() {"],
        hidden="    this.limit = limit;",
        split="render",
    ),
    Case(
        "router.ts",
        [
            ("interface", "RouterOptions", ""),
            ("type", "Handler", ""),
            ("enum", "Method", ""),
            ("class", "Router", ""),
            ("method", "Router.constructor", "Router"),
            ("method", "Router.add", "Router"),
            ("method", "Router.dispatch", "Router"),
            ("function", "notFound", ""),
            ("function", "buildRouter", ""),
        ],
        signatures={
            "notFound": "export const notFound: Handler = async (req) =>",
            "Router.add": "add(path: string, handler: Handler): this",
        },
        docstrings={
            "RouterOptions": "Options of a router.",
            "Router.add": "Register a handler for a path.",
        },
        spans={"Handler": (9, 9), "Router.dispatch": (28, 32), "buildRouter": (38, 53)},
        container="Router",
        member_lines=["  async dispatch(req: Request): Promise<string> {"],
        hidden="    return this;",
        split="buildRouter",
    ),
    Case(
        "counter.tsx",
        [
            ("interface", "CounterProps", ""),
            ("function", "Counter", ""),
            ("function", "App", ""),
        ],
        signatures={
            "Counter": "export const Counter = ({ start }: CounterProps) =>",
            "App": "function App(): JSX.Element",
        },
        docstrings={"Counter": "A button that counts clicks."},
        spans={"Counter": (8, 12), "App": (14, 20)},
        container="",
        member_lines=[],
        hidden="",
        split="",
    ),
    Case(
        "server.go",
        [
            ("type", "Server", ""),
            ("function", "NewServer", ""),
            ("method", "Server.Run", "Server"),
            ("method", "Server.String", "Server"),
            ("method", "Server.Handle", "Server"),
        ],
        signatures={"Server.Run": "func (s *Server) Run() error"},
        docstrings={
            "Server": "Server serves HTTP requests.",
            "Server.Run": "Run starts listening.",
        },
        spans={"Server": (11, 15), "Server.String": (27, 29), "Server.Handle": (31, 52)},
        container="",
        member_lines=[],
        hidden="",
        split="Server.Handle",
    ),
    Case(
        "cache.rs",
        [
            ("struct", "Cache", ""),
            ("impl", "Cache", ""),
            ("method", "Cache.new", "Cache"),
            ("method", "Cache.insert", "Cache"),
            ("trait", "Describe", ""),
            ("impl", "Cache", ""),
            ("function", "summarize", ""),
        ],
        signatures={"Cache.insert": "pub fn insert(&mut self, key: &str, value: &str)"},
        docstrings={"Cache": "A bounded key-value cache.", "Cache.new": "Make an empty cache."},
        spans={"Cache.new": (12, 15), "Describe": (26, 30), "summarize": (38, 54)},
        container="Cache",
        member_lines=[
            "    pub fn new() -> Self {",
            "    pub fn insert(&mut self, key: &str, value: &str) {",
        ],
        hidden="            self.items.clear();",
        split="summarize",
        members_when_small=["Cache.describe", "Describe.describe"],
    ),
    Case(
        "Cart.java",
        [
            ("class", "Cart", ""),
            ("method", "Cart.Cart", "Cart"),
            ("method", "Cart.add", "Cart"),
            ("method", "Cart.total", "Cart"),
            ("method", "Cart.receipt", "Cart"),
            ("class", "Item", ""),
        ],
        signatures={"Cart.receipt": "public String receipt(String customer)"},
        docstrings={
            "Cart": "A shopping cart.",
            "Cart.Cart": "Create an empty cart.",
            "Cart.total": "Sum of all prices.",
        },
        spans={"Cart.add": (16, 21), "Cart.receipt": (32, 49), "Item": (51, 52)},
        container="Cart",
        member_lines=["    public void add(Item item) {", "    public int total() {"],
        hidden="        items.add(item);",
        split="Cart.receipt",
    ),
    Case(
        "buffer.c",
        [
            ("struct", "buffer", ""),
            ("function", "buffer_push", ""),
            ("function", "buffer_dump", ""),
            ("function", "main", ""),
        ],
        signatures={"buffer_dump": "void buffer_dump(const struct buffer *buf, FILE *out)"},
        docstrings={
            "buffer": "A growable byte buffer.",
            "buffer_push": "Append one byte, growing the buffer.",
        },
        spans={"buffer_push": (14, 24), "buffer_dump": (26, 48), "main": (50, 56)},
        container="",
        member_lines=[],
        hidden="",
        split="buffer_dump",
    ),
    Case(
        "polygon.cpp",
        [
            ("namespace", "geo", ""),
            ("struct", "geo.Point", "geo"),
            ("class", "geo.Polygon", "geo"),
            ("method", "geo.Polygon.Polygon", "geo.Polygon"),
            ("method", "geo.Polygon.size", "geo.Polygon"),
            ("method", "geo.Polygon.area", "geo.Polygon"),
            ("function", "geo.clamp", "geo"),
            ("function", "describe", ""),
        ],
        signatures={
            "geo.Polygon.area": "double Polygon::area() const",
            "geo.clamp": "T clamp(T value, T low, T high)",
        },
        docstrings={"geo.Polygon": "A closed polygon.", "geo.clamp": ""},
        spans={"geo.Polygon.area": (27, 35), "geo.clamp": (37, 42), "describe": (44, 62)},
        container="geo.Polygon",
        member_lines=["    std::size_t size() const { return points_.size(); }"],
        hidden="    std::vector<Point> points_;",
        split="describe",
    ),
    Case(
        "Invoice.cs",
        [
            ("namespace", "Billing", ""),
            ("class", "Billing.Invoice", "Billing"),
            ("property", "Billing.Invoice.Customer", "Billing.Invoice"),
            ("property", "Billing.Invoice.Total", "Billing.Invoice"),
            ("method", "Billing.Invoice.Invoice", "Billing.Invoice"),
            ("method", "Billing.Invoice.Add", "Billing.Invoice"),
            ("method", "Billing.Invoice.Render", "Billing.Invoice"),
            ("interface", "Billing.IPrinter", "Billing"),
        ],
        signatures={"Billing.Invoice.Customer": "public string Customer { get; set; }"},
        docstrings={"Billing.Invoice.Add": "<summary>Add a line.</summary>"},
        spans={"Billing.Invoice.Total": (14, 15), "Billing.Invoice.Render": (29, 48)},
        container="Billing.Invoice",
        member_lines=["        public void Add(decimal amount)", "        public string Render()"],
        hidden="            _lines.Add(amount);",
        split="Billing.Invoice.Render",
        members_when_small=["Billing.IPrinter.Print"],
    ),
    Case(
        "order.rb",
        [
            ("module", "Money", ""),
            ("class", "Order", ""),
            ("method", "Order.initialize", "Order"),
            ("method", "Order.add", "Order"),
            ("method", "Order.load", "Order"),
            ("method", "Order.summary", "Order"),
        ],
        signatures={"Money": "module Money", "Order.load": "def self.load(path)"},
        docstrings={"Money": "Money helpers.", "Order.initialize": "Build an empty order."},
        spans={"Money": (5, 11), "Order.load": (28, 30), "Order.summary": (32, 49)},
        container="Order",
        member_lines=["  def initialize(customer)", "  def self.load(path)"],
        hidden="    @lines = []",
        split="Order.summary",
        members_when_small=["Money.format"],
    ),
    Case(
        "Message.php",
        [
            ("interface", "Sendable", ""),
            ("class", "Message", ""),
            ("method", "Message.__construct", "Message"),
            ("method", "Message.to", "Message"),
            ("method", "Message.welcome", "Message"),
            ("method", "Message.send", "Message"),
            ("function", "mailer", ""),
        ],
        signatures={"Message.welcome": "public static function welcome(User $user): self"},
        docstrings={"Message": "A mail message to users.", "Message.to": "Add a recipient."},
        spans={"Message.to": (29, 34), "Message.send": (41, 58), "mailer": (60, 63)},
        container="Message",
        member_lines=["    public function to(User $user): static"],
        hidden="        $this->to[] = $user->email;",
        split="Message.send",
        members_when_small=["Sendable.send"],
    ),
    Case(
        "Library.kt",
        [
            ("class", "Book", ""),
            ("class", "Library", ""),
            ("method", "Library.lend", "Library"),
            ("method", "Library.giveBack", "Library"),
            ("class", "Library", "Library"),  # the companion object
            ("class", "Registry", ""),
            ("function", "overdue", ""),
        ],
        signatures={"Library.lend": "fun lend(book: Book, today: LocalDate): LocalDate"},
        docstrings={"Book": "A book in the catalogue.", "Library.giveBack": "Return a book."},
        spans={"Library.lend": (19, 24), "overdue": (40, 57)},
        container="Library",
        member_lines=["    fun giveBack(book: Book) {", "    companion object {"],
        hidden="        loans.remove(book)",
        split="overdue",
        members_when_small=["Library.empty", "Registry.find"],
    ),
    Case(
        "Todo.swift",
        [
            ("interface", "Titled", ""),
            ("class", "TodoList", ""),
            ("method", "TodoList.init", "TodoList"),
            ("method", "TodoList.add", "TodoList"),
            ("method", "TodoList.render", "TodoList"),
            ("struct", "Point", ""),
            ("extension", "TodoList", ""),
            ("function", "greet", ""),
        ],
        signatures={"TodoList.add": "func add(_ item: String)", "Point": "struct Point"},
        docstrings={"TodoList.init": "Make an empty list.", "greet": "Greet someone."},
        spans={"TodoList.init": (16, 19), "TodoList.render": (30, 45), "Point": (47, 54)},
        container="TodoList",
        member_lines=["    init(title: String) {", "    func render() -> String {"],
        hidden="        items.append(item)",
        split="TodoList.render",
        members_when_small=["Titled.render", "Point.distance", "TodoList.clear"],
    ),
    Case(
        "Shapes.scala",
        [
            ("trait", "Shape", ""),
            ("class", "Circle", ""),
            ("class", "Shapes", ""),
            ("method", "Shapes.largest", "Shapes"),
            ("method", "Shapes.report", "Shapes"),
            ("function", "main", ""),
        ],
        signatures={"Shapes.largest": "def largest(shapes: Seq[Shape]): Shape ="},
        docstrings={"Shape": "A shape with an area.", "Shapes.largest": "The largest shape."},
        spans={"Circle": (11, 17), "Shapes.report": (25, 41), "main": (43, 43)},
        container="Shapes",
        member_lines=["  def largest(shapes: Seq[Shape]): Shape = shapes.maxBy(_.area)"],
        hidden='      lines += "no shapes"',
        split="Shapes.report",
        members_when_small=["Shape.area", "Circle.circumference"],
    ),
    Case(
        "backup.sh",
        [("function", "log", ""), ("function", "rotate", ""), ("function", "backup", "")],
        signatures={"log": "log()", "rotate": "function rotate"},
        docstrings={"log": "Print a message with a timestamp.", "rotate": ""},
        spans={"log": (6, 9), "rotate": (11, 14), "backup": (16, 33)},
        container="",
        member_lines=[],
        hidden="",
        split="backup",
    ),
]
IDS = [case.path for case in CASES]


def _chunks(path: str, limits: ChunkLimits = LIMITS) -> list[Chunk]:
    return chunk_file(path, SNIPPETS[path], language_for(path), limits)


def _by_symbol(chunks: list[Chunk], symbol: str) -> list[Chunk]:
    found = [chunk for chunk in chunks if chunk.symbol == symbol and chunk.kind != "code"]
    assert found, f"no chunk for {symbol}"
    return found


def test_every_language_has_a_snippet() -> None:
    languages = {language_for(case.path).name for case in CASES}
    assert languages == {
        "python",
        "javascript",
        "typescript",
        "tsx",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "csharp",
        "ruby",
        "php",
        "kotlin",
        "swift",
        "scala",
        "bash",
    }


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_definitions_in_order(case: Case) -> None:
    found: list[tuple[str, str, str]] = []
    for chunk in _chunks(case.path):
        key = (chunk.kind, chunk.symbol, chunk.parent)
        if chunk.kind != "code" and (not found or found[-1] != key):
            found.append(key)
    assert found == case.definitions


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_signatures_docstrings_and_spans(case: Case) -> None:
    chunks = _chunks(case.path)
    for symbol, signature in case.signatures.items():
        assert _by_symbol(chunks, symbol)[0].signature == signature
    for symbol, docstring in case.docstrings.items():
        assert _by_symbol(chunks, symbol)[0].docstring == docstring
    for symbol, (start, end) in case.spans.items():
        parts = _by_symbol(chunks, symbol)
        assert (parts[0].start_line, parts[-1].end_line) == (start, end), symbol


@pytest.mark.parametrize("case", [c for c in CASES if c.container], ids=lambda c: c.path)
def test_container_header_lists_members_with_bodies_elided(case: Case) -> None:
    chunks = _chunks(case.path)
    first_member = next(i for i, c in enumerate(chunks) if c.parent == case.container)
    header = chunks[first_member - 1]
    assert header.symbol == case.container
    between = SNIPPETS[case.path].splitlines()[
        header.end_line : chunks[first_member].start_line - 1
    ]
    assert not "".join(between).strip()
    skeleton = header.skeleton.splitlines()
    for line in case.member_lines:
        assert line in skeleton
    assert any(line.strip() == "..." for line in skeleton)
    assert case.hidden in SNIPPETS[case.path].splitlines()
    assert case.hidden not in skeleton


@pytest.mark.parametrize("case", [c for c in CASES if c.split], ids=lambda c: c.path)
def test_large_definition_splits_repeating_its_signature(case: Case) -> None:
    parts = _by_symbol(_chunks(case.path), case.split)
    assert len(parts) >= 2
    assert len({(p.signature, p.skeleton, p.kind, p.parent) for p in parts}) == 1
    assert all(p.end_line + 1 <= q.start_line for p, q in pairwise(parts))
    assert [bool(p.defines) for p in parts] == [True] + [False] * (len(parts) - 1)
    skeleton = parts[0].skeleton.splitlines()
    assert any(line.strip() == "..." for line in skeleton)
    assert len(skeleton) < parts[-1].end_line - parts[0].start_line


@pytest.mark.parametrize("case", [c for c in CASES if c.members_when_small], ids=lambda c: c.path)
def test_small_containers_split_at_a_small_limit(case: Case) -> None:
    symbols = {chunk.symbol for chunk in _chunks(case.path, ChunkLimits(max_chars=50))}
    assert set(case.members_when_small) <= symbols


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_generous_limit_keeps_definitions_whole(case: Case) -> None:
    chunks = _chunks(case.path, ChunkLimits(max_chars=2000))
    assert "\n".join(chunk.text for chunk in chunks).split() == SNIPPETS[case.path].split()
    assert not [chunk for chunk in chunks if case.container and chunk.parent == case.container]
    assert len([chunk for chunk in chunks if chunk.symbol == case.split]) <= 1


def test_go_receiver_owns_the_method() -> None:
    run = _by_symbol(_chunks("server.go"), "Server.Run")[0]
    assert (run.kind, run.parent, run.defines) == ("method", "Server", ["Run"])


def test_rust_trait_impl_is_named_by_its_type() -> None:
    impls = [c for c in _chunks("cache.rs") if c.kind == "impl"]
    assert [c.signature for c in impls] == ["impl Cache", "impl Describe for Cache"]
    assert {c.symbol for c in impls} == {"Cache"}


def test_rust_attributes_attach_to_the_item() -> None:
    text = "/// A point.\n#[derive(Debug)]\npub struct P {\n    x: i32,\n}\n"
    [chunk] = chunk_file("p.rs", text, language_for("p.rs"))
    assert (chunk.kind, chunk.symbol, chunk.docstring) == ("struct", "P", "A point.")
    assert (chunk.start_line, chunk.end_line) == (1, 5)


def test_trailing_comment_is_not_a_docstring() -> None:
    text = "int x = 1; // counter\nint f(void) {\n    return x;\n}\n"
    chunks = chunk_file("f.c", text, language_for("f.c"))
    assert [(c.kind, c.start_line, c.docstring) for c in chunks] == [
        ("code", 1, ""),
        ("function", 2, ""),
    ]


@pytest.mark.parametrize(
    ("path", "source", "symbol"),
    [
        ("cafe.py", b"def caf\xe9():\n    pass\n", "caf\ufffd"),
        (
            "cafe.py",
            b"class C\xe9f:\n    def \xe9t\xe9(self):\n        pass\n",
            "C\ufffdf.\ufffdt\ufffd",
        ),
        ("cafe.go", b"func caf\xe9() {\n}\n", "caf\ufffd"),
        ("cafe.cpp", b"int A::caf\xe9() {\n    return 0;\n}\n", "A.caf\ufffd"),
    ],
)
def test_a_name_with_an_undecodable_byte_keeps_its_replacement_character(
    tmp_path: Path, path: str, source: bytes, symbol: str
) -> None:
    write_files(tmp_path, {path: source})
    _, text, invalid = read_file(tmp_path, path, IndexSettings())
    assert isinstance(text, str) and invalid
    chunks = chunk_file(path, text, language_for(path), ChunkLimits(max_chars=30))
    assert symbol in {chunk.symbol for chunk in chunks}
