using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Unicode;

namespace Participation.Api.Auth;

/// <summary>Where a top-level member's value lies in the scanned JSON (offsets relative to it).</summary>
internal struct JsonMember
{
    public JsonTokenType Type;
    public int Start;
    public int End;

    /// <summary>Some string inside the value (member names included) contains U+0000.</summary>
    public bool HasNul;

    public readonly bool Present => End > 0;

    /// <summary>The value as a standalone JSON text (a string value keeps its quotes).</summary>
    public readonly ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> json) => json[Start..End];

    /// <summary>A reader positioned on the value's first token.</summary>
    public readonly Utf8JsonReader Reader(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(Slice(json));
        reader.Read();
        return reader;
    }
}

/// <summary>Room for the known top-level members of a header or payload, without allocating.</summary>
[InlineArray(16)]
internal struct JsonMembers
{
    private JsonMember element;
}

internal enum JsonScanResult
{
    Ok,
    Invalid,
    DuplicateMember,
}

/// <summary>
/// One strict pass over a JWS header or payload with <see cref="Utf8JsonReader"/>: a single JSON object,
/// valid UTF-8, every escape decoding to valid Unicode, and no member name twice in any object at any
/// depth (never "last one wins"). It records where the values of the <c>knownNames</c> top-level members lie,
/// so claims are then read from small slices without parsing the whole document again.
/// </summary>
internal static class StrictJson
{
    private const int MaxDepth = 64;

    /// <summary>Objects with more members than this are checked for duplicates by sorting when they end.</summary>
    private const int LinearCheckLimit = 16;

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        MaxDepth = MaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    public static JsonScanResult ScanObject(ReadOnlySpan<byte> json, byte[][] knownNames, Span<JsonMember> members)
    {
        members.Clear();
        if (json.IsEmpty || !Utf8.IsValid(json))
        {
            return JsonScanResult.Invalid;
        }

        // Unescaped names of the open objects, back to back; an unescaped text is never longer than its JSON form,
        // so names plus the string being checked always fit in json.Length bytes.
        var scratch = ArrayPool<byte>.Shared.Rent(json.Length);
        var names = ArrayPool<NameEntry>.Shared.Rent(json.Length / 3 + 1);
        try
        {
            return Scan(json, knownNames, members, scratch, names);
        }
        catch (JsonException)
        {
            return JsonScanResult.Invalid;
        }
        catch (InvalidOperationException)
        {
            // An escape that does not decode to valid Unicode (a lone surrogate such as \ud800).
            return JsonScanResult.Invalid;
        }
        finally
        {
            ArrayPool<NameEntry>.Shared.Return(names);
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static JsonScanResult Scan(
        ReadOnlySpan<byte> json, byte[][] knownNames, Span<JsonMember> members, byte[] scratch, NameEntry[] names)
    {
        Span<int> frameNameStart = stackalloc int[MaxDepth + 1];
        Span<int> frameByteStart = stackalloc int[MaxDepth + 1];
        var nameCount = 0;
        var bytesUsed = 0;
        var pending = -1; // known member whose value comes next
        var active = -1; // known member whose object/array value is open

        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return JsonScanResult.Invalid;
        }

        frameNameStart[0] = 0;
        frameByteStart[0] = 0;

        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    BeginContainer(ref reader, members, ref pending, ref active);
                    frameNameStart[reader.CurrentDepth] = nameCount;
                    frameByteStart[reader.CurrentDepth] = bytesUsed;
                    break;

                case JsonTokenType.StartArray:
                    BeginContainer(ref reader, members, ref pending, ref active);
                    break;

                case JsonTokenType.EndObject:
                {
                    var depth = reader.CurrentDepth;
                    var start = frameNameStart[depth];
                    if (nameCount - start > LinearCheckLimit && HasDuplicateSorted(names.AsSpan(start, nameCount - start), scratch))
                    {
                        return JsonScanResult.DuplicateMember;
                    }

                    nameCount = start;
                    bytesUsed = frameByteStart[depth];
                    EndContainer(ref reader, members, ref active);
                    break;
                }

                case JsonTokenType.EndArray:
                    EndContainer(ref reader, members, ref active);
                    break;

                case JsonTokenType.PropertyName:
                {
                    int length;
                    if (reader.ValueIsEscaped)
                    {
                        length = reader.CopyString(scratch.AsSpan(bytesUsed));
                        if (active >= 0 && scratch.AsSpan(bytesUsed, length).Contains((byte)0))
                        {
                            members[active].HasNul = true;
                        }
                    }
                    else
                    {
                        reader.ValueSpan.CopyTo(scratch.AsSpan(bytesUsed));
                        length = reader.ValueSpan.Length;
                    }

                    var name = scratch.AsSpan(bytesUsed, length);
                    var frameStart = frameNameStart[reader.CurrentDepth - 1];
                    if (nameCount - frameStart < LinearCheckLimit)
                    {
                        foreach (var other in names.AsSpan(frameStart, nameCount - frameStart))
                        {
                            if (name.SequenceEqual(scratch.AsSpan(other.Offset, other.Length)))
                            {
                                return JsonScanResult.DuplicateMember;
                            }
                        }
                    }

                    names[nameCount++] = new NameEntry(bytesUsed, length);
                    bytesUsed += length;

                    if (reader.CurrentDepth == 1)
                    {
                        pending = IndexOfName(ref reader, knownNames);
                    }

                    break;
                }

                case JsonTokenType.String:
                {
                    var hasNul = false;
                    if (reader.ValueIsEscaped)
                    {
                        // Unescaping validates the escapes; raw JSON strings cannot hold a NUL, only "\u0000" can.
                        var length = reader.CopyString(scratch.AsSpan(bytesUsed));
                        hasNul = scratch.AsSpan(bytesUsed, length).Contains((byte)0);
                    }

                    if (hasNul && active >= 0)
                    {
                        members[active].HasNul = true;
                    }

                    Scalar(ref reader, members, ref pending, hasNul);
                    break;
                }

                default:
                    Scalar(ref reader, members, ref pending, hasNul: false);
                    break;
            }
        }

        return JsonScanResult.Ok;
    }

    private static void BeginContainer(ref Utf8JsonReader reader, Span<JsonMember> members, ref int pending, ref int active)
    {
        if (pending < 0)
        {
            return;
        }

        members[pending] = new JsonMember { Type = reader.TokenType, Start = (int)reader.TokenStartIndex };
        active = pending;
        pending = -1;
    }

    private static void EndContainer(ref Utf8JsonReader reader, Span<JsonMember> members, ref int active)
    {
        if (active >= 0 && reader.CurrentDepth == 1)
        {
            members[active].End = (int)reader.BytesConsumed;
            active = -1;
        }
    }

    private static void Scalar(ref Utf8JsonReader reader, Span<JsonMember> members, ref int pending, bool hasNul)
    {
        if (pending < 0)
        {
            return;
        }

        members[pending] = new JsonMember
        {
            Type = reader.TokenType,
            Start = (int)reader.TokenStartIndex,
            End = (int)reader.BytesConsumed,
            HasNul = hasNul,
        };
        pending = -1;
    }

    private static int IndexOfName(ref Utf8JsonReader reader, byte[][] knownNames)
    {
        for (var i = 0; i < knownNames.Length; i++)
        {
            if (reader.ValueTextEquals(knownNames[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool HasDuplicateSorted(Span<NameEntry> entries, byte[] scratch)
    {
        entries.Sort(new NameComparer(scratch));
        for (var i = 1; i < entries.Length; i++)
        {
            if (scratch.AsSpan(entries[i - 1].Offset, entries[i - 1].Length)
                .SequenceEqual(scratch.AsSpan(entries[i].Offset, entries[i].Length)))
            {
                return true;
            }
        }

        return false;
    }

    private readonly record struct NameEntry(int Offset, int Length);

    private readonly struct NameComparer(byte[] scratch) : IComparer<NameEntry>
    {
        public int Compare(NameEntry x, NameEntry y) =>
            scratch.AsSpan(x.Offset, x.Length).SequenceCompareTo(scratch.AsSpan(y.Offset, y.Length));
    }
}
