using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.OpenApi;

namespace Participation.Api.Hosting.ApiReference;

/// <summary>
/// Writes <see cref="ApiContract"/> into each operation ASP.NET Core describes: summary, description, security,
/// parameters the handlers read by hand (the token, the raw <c>sub</c>, paging), request bodies with examples, the
/// success answer with its schema and example, and one problem+json answer per status listing every <c>code</c> (as
/// named examples and in <c>x-problem-codes</c>).
/// </summary>
internal sealed class ContractOperationTransformer : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var description = context.Description;
        var contract = ApiContract.Find(description.HttpMethod ?? "", description.RelativePath ?? "");
        if (contract is null || context.Document is not { } document)
        {
            return;
        }

        await ContractWriter.WriteAsync(operation, contract, document, async type =>
            await context.GetOrCreateSchemaAsync(type, null, cancellationToken));
    }
}

/// <summary>
/// The document as a whole: title and introduction, security schemes, the <c>Problem</c> schema, paths without a
/// trailing slash, and the contract's routes that ASP.NET Core does not describe itself (health checks, this document,
/// the reference page) when they are mapped.
/// </summary>
internal sealed class ContractDocumentTransformer(EndpointDataSource endpoints) : IOpenApiDocumentTransformer
{
    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Participation API",
            Version = "v1",
            Description = Introduction,
        };
        ContractWriter.EnsureComponents(document);

        // Group routes such as "/v1/accounts/{accountId}/api-keys/" are mapped with a trailing slash: document the path clients call.
        document.Paths ??= [];
        foreach (var path in document.Paths.Keys.Where(p => p.Length > 1 && p.EndsWith('/')).ToList())
        {
            var item = document.Paths[path];
            document.Paths.Remove(path);
            document.Paths[path.TrimEnd('/')] = item;
        }

        var mapped = MappedRoutes();
        foreach (var contract in ApiContract.Operations)
        {
            var path = ApiContract.NormalizePath(contract.Path);
            var method = HttpMethod.Parse(contract.Method);
            var alreadyDescribed = document.Paths.TryGetValue(path, out var existing) && existing.Operations?.ContainsKey(method) == true;
            if (alreadyDescribed || !mapped.Contains(contract.Key))
            {
                continue;
            }

            var operation = new OpenApiOperation();
            await ContractWriter.WriteAsync(operation, contract, document, type => context.GetOrCreateSchemaAsync(type, null, cancellationToken));
            if (existing is not OpenApiPathItem item)
            {
                item = new OpenApiPathItem();
                document.Paths[path] = item;
            }

            item.AddOperation(method, operation);
        }

        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var tag in ApiContract.Operations.Select(o => o.Tag).Distinct(StringComparer.Ordinal))
        {
            if (!document.Tags.Any(t => t.Name == tag))
            {
                document.Tags.Add(new OpenApiTag { Name = tag });
            }
        }
    }

    /// <summary>Keys (<see cref="ApiContract.KeyOf"/>) of every route the application maps; <c>/docs/...</c> counts as <c>/docs</c>.</summary>
    private HashSet<string> MappedRoutes()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = endpoint.RoutePattern.RawText ?? "";
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var method in methods)
            {
                keys.Add(ApiContract.KeyOf(method, pattern));
                if (pattern.StartsWith("/docs", StringComparison.Ordinal) || pattern.StartsWith("docs", StringComparison.Ordinal))
                {
                    keys.Add(ApiContract.KeyOf(method, "/docs"));
                }

                if (pattern.StartsWith("/openapi/{documentName}", StringComparison.Ordinal))
                {
                    keys.Add(ApiContract.KeyOf(method, "/openapi/v1.json"));
                }
            }
        }

        return keys;
    }

    private const string Introduction =
        """
        A partner site sends its logged-in users into marketing campaigns with a signed **secure token** (a JWT naming
        the user, `sub`, and the campaign, `campaignId`); the service lets each of them take part exactly as many times
        as the campaign allows.

        **Two kinds of credentials.** Management calls take `Authorization: Bearer <api key>`: the admin key (every
        account) or an account's own key (its account only; another account's resources answer 404). The participation
        and eligibility calls take the partner's secure token instead, as the query or form field `qual_token`, as
        `Authorization: Bearer <token>`, or as JSON `{"token": "..."}`.

        **Errors** are RFC 9457 `application/problem+json` with a stable `code` member; each answer below lists its
        codes (also in `x-problem-codes`). Details are sentences for developers: they never quote a token or a secret.

        Guides: `docs/integration.md` (minting tokens in C#, Node.js, PHP, Python and Java; the play page and its
        embed; troubleshooting with `token mint` and `token inspect`), `docs/keys.md`, `docs/configuration.md`.
        """;
}

/// <summary>
/// Numbers are numbers: the web JSON defaults describe integers as "integer or numeric string", but request bodies are
/// read strictly (<see cref="JsonBody"/>), so the document says integer.
/// </summary>
internal sealed class StrictNumberSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (schema.Type is { } type && (type & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 && (type & JsonSchemaType.String) != 0)
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        return Task.CompletedTask;
    }
}

/// <summary>Turns an <see cref="ApiOperation"/> into OpenAPI objects.</summary>
internal static class ContractWriter
{
    public const string ProblemSchema = "Problem";

    private static readonly Dictionary<string, string> PathParameterDescriptions = new(StringComparer.Ordinal)
    {
        ["accountId"] = "The account id, `[A-Za-z0-9_-]{1,64}`.",
        ["campaignId"] = "The campaign id, `[A-Za-z0-9_-]{1,64}` (numeric ids such as `123456` are common).",
        ["sub"] = "The participant's id as the partner signs it, percent-encoded once (`a%2Fb` is `a/b`).",
        ["prefix"] = "The key's public prefix (`pk_` and 12 characters).",
        ["kid"] = "The encryption key's id.",
    };

    public static async Task WriteAsync(OpenApiOperation operation, ApiOperation contract, OpenApiDocument document, Func<Type, Task<OpenApiSchema>> schemaOf)
    {
        EnsureComponents(document);
        operation.OperationId = contract.OperationId;
        operation.Summary = contract.Summary;
        operation.Description = contract.Description;
        operation.Tags = new HashSet<OpenApiTagReference> { new(contract.Tag, document) };
        operation.Security = contract.Access switch
        {
            ApiAccess.ApiKey => [Requirement(ApiContract.ApiKeyScheme, document)],
            // The token may also come in the query string or the body: the Bearer header is one way among others.
            ApiAccess.SecureToken => [Requirement(ApiContract.SecureTokenScheme, document), new OpenApiSecurityRequirement()],
            _ => [],
        };

        WriteParameters(operation, contract);
        await WriteRequestBodyAsync(operation, contract, document, schemaOf);
        await WriteResponsesAsync(operation, contract, document, schemaOf);
    }

    public static void EnsureComponents(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes.TryAdd(ApiContract.ApiKeyScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The admin key (`Participation:AdminApiKey`) or an account key (`pk_...`, from `POST /v1/accounts/{accountId}/api-keys`).",
        });
        document.Components.SecuritySchemes.TryAdd(ApiContract.SecureTokenScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "The partner's secure token (a JWS signed with the account's key, optionally wrapped in a JWE).",
        });

        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        document.Components.Schemas.TryAdd(ProblemSchema, new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "RFC 9457 problem details with the service's stable `code`.",
            Required = new HashSet<string>(StringComparer.Ordinal) { "type", "title", "status", "code" },
            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "`urn:participation:problem:{code}`." },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A sentence for developers; never quotes a token or a secret." },
                ["code"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Description = "The stable error code.",
                    Enum = [.. ApiContract.Problems.Keys.Order(StringComparer.Ordinal).Select(c => (JsonNode)JsonValue.Create(c))],
                },
                ["errors"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "`request_invalid`: the messages per invalid field.",
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
                ["limit"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "403 refusals: the participant's limit." },
                ["remaining"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "403 refusals: participations left." },
                ["participationId"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid", Description = "409 `token_replayed`: the participation the token gave." },
                ["number"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Description = "409 `token_replayed`: its number." },
            },
        });
    }

    private static OpenApiSecurityRequirement Requirement(string scheme, OpenApiDocument document) =>
        new() { [new OpenApiSecuritySchemeReference(scheme, document)] = [] };

    private static void WriteParameters(OpenApiOperation operation, ApiOperation contract)
    {
        operation.Parameters ??= [];
        foreach (var segment in RoutePatternFactory.Parse(contract.Path).Parameters)
        {
            var existing = operation.Parameters.FirstOrDefault(p => p.Name == segment.Name && p.In == ParameterLocation.Path);
            if (existing is not null)
            {
                operation.Parameters.Remove(existing);
            }

            operation.Parameters.Add(new OpenApiParameter
            {
                Name = segment.Name,
                In = ParameterLocation.Path,
                Required = true,
                Description = PathParameterDescriptions.GetValueOrDefault(segment.Name),
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
        }

        foreach (var query in contract.Query)
        {
            if (operation.Parameters.Any(p => p.Name == query.Name && p.In == ParameterLocation.Query))
            {
                continue;
            }

            operation.Parameters.Add(new OpenApiParameter
            {
                Name = query.Name,
                In = ParameterLocation.Query,
                Required = false,
                Description = query.Description,
                Schema = new OpenApiSchema { Type = query.Type == "integer" ? JsonSchemaType.Integer : JsonSchemaType.String },
            });
        }
    }

    private static async Task WriteRequestBodyAsync(OpenApiOperation operation, ApiOperation contract, OpenApiDocument document, Func<Type, Task<OpenApiSchema>> schemaOf)
    {
        if (contract.RequestType is null && contract.RequestExample is null)
        {
            return;
        }

        var json = new OpenApiMediaType
        {
            Schema = contract.RequestType is null ? new OpenApiSchema { Type = JsonSchemaType.Object } : await SchemaAsync(contract.RequestType, document, schemaOf),
            Example = contract.RequestExample is null ? null : JsonNode.Parse(contract.RequestExample),
        };
        var body = new OpenApiRequestBody
        {
            Required = contract.Access != ApiAccess.SecureToken,
            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { ["application/json"] = json },
        };
        if (contract.Access == ApiAccess.SecureToken)
        {
            body.Description = "The token, unless it is sent as `qual_token` in the query string or as `Authorization: Bearer`.";
            body.Content["application/x-www-form-urlencoded"] = new OpenApiMediaType
            {
                Schema = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
                    {
                        ["qual_token"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The secure token." },
                    },
                },
            };
        }

        operation.RequestBody = body;
    }

    private static async Task WriteResponsesAsync(OpenApiOperation operation, ApiOperation contract, OpenApiDocument document, Func<Type, Task<OpenApiSchema>> schemaOf)
    {
        operation.Responses = [];
        var success = new OpenApiResponse { Description = contract.SuccessDescription };
        IOpenApiSchema? schema = contract.ResponseType is null ? null : await SchemaAsync(contract.ResponseType, document, schemaOf);
        if (schema is not null || contract.ResponseExample is not null)
        {
            success.Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                ["application/json"] = new OpenApiMediaType
                {
                    Schema = schema ?? new OpenApiSchema { Type = JsonSchemaType.Object },
                    Example = contract.ResponseExample is null ? null : JsonNode.Parse(contract.ResponseExample),
                },
            };
            foreach (var mediaType in contract.AlternateMediaTypes)
            {
                success.Content[mediaType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
            }
        }
        else if (contract.Access == ApiAccess.Public && contract.Path.StartsWith("/health", StringComparison.Ordinal))
        {
            success.Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
            {
                ["text/plain"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String }, Example = JsonValue.Create("Healthy") },
            };
        }

        operation.Responses[Status(contract.SuccessStatus)] = success;
        foreach (var (status, text) in contract.OtherSuccesses)
        {
            operation.Responses[Status(status)] = new OpenApiResponse
            {
                Description = text,
                Content = status < 300 && success.Content is not null ? success.Content : null,
            };
        }

        foreach (var group in contract.Errors.GroupBy(e => e.Status).OrderBy(g => g.Key))
        {
            var codes = group.Select(e => e.Code).Distinct(StringComparer.Ordinal).ToList();
            var examples = new Dictionary<string, IOpenApiExample>(StringComparer.Ordinal);
            foreach (var code in codes)
            {
                examples[code] = new OpenApiExample { Summary = code, Value = ProblemExample(group.Key, code) };
            }

            var response = new OpenApiResponse
            {
                Description = "`code`: " + string.Join(", ", codes.Select(c => "`" + c + "`")),
                Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                {
                    ["application/problem+json"] = new OpenApiMediaType
                    {
                        Schema = new OpenApiSchemaReference(ProblemSchema, document),
                        Examples = examples,
                    },
                },
                Extensions = new Dictionary<string, IOpenApiExtension>(StringComparer.Ordinal)
                {
                    ["x-problem-codes"] = new JsonNodeExtension(new JsonArray([.. codes.Select(c => (JsonNode)JsonValue.Create(c))])),
                },
            };
            operation.Responses[Status(group.Key)] = response;
        }
    }

    private static JsonNode ProblemExample(int status, string code)
    {
        var detail = ApiContract.Problems.TryGetValue(code, out var known) ? known.Detail : "See code.";
        var problem = new JsonObject
        {
            ["type"] = Hosting.Problems.TypeFor(code),
            ["title"] = ReasonPhrases(status),
            ["status"] = status,
            ["detail"] = detail,
            ["code"] = code,
        };
        if (code == Hosting.Problems.TokenReplayed)
        {
            problem["participationId"] = "0193a5b2-7c1e-7d3f-9a4b-2c5d6e7f8a9b";
            problem["number"] = 1;
        }
        else if (status == StatusCodes.Status403Forbidden && code != Hosting.Problems.TokenCampaignMismatch)
        {
            problem["limit"] = 3;
            problem["remaining"] = code == Domain.Participations.RejectionCodes.ParticipationLimitReached ? 0 : 2;
        }
        else if (code == Hosting.Problems.RequestInvalid)
        {
            problem["errors"] = new JsonObject { ["name"] = new JsonArray("Required: 1 to 200 characters without control characters.") };
        }

        return problem;
    }

    private static string ReasonPhrases(int status) => status switch
    {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        413 => "Payload too large",
        503 => "Service unavailable",
        _ => "Error",
    };

    private static string Status(int status) => status.ToString(CultureInfo.InvariantCulture);

    /// <summary>A named component for a record type (a reference to it), inline for collections.</summary>
    private static async Task<IOpenApiSchema> SchemaAsync(Type type, OpenApiDocument document, Func<Type, Task<OpenApiSchema>> schemaOf)
    {
        if (type.IsGenericType)
        {
            return await schemaOf(type);
        }

        var name = type.Name;
        document.Components!.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        if (!document.Components.Schemas.ContainsKey(name))
        {
            document.Components.Schemas[name] = await schemaOf(type);
        }

        return new OpenApiSchemaReference(name, document);
    }
}
