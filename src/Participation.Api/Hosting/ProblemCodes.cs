namespace Participation.Api.Hosting;

/// <summary>
/// Gives the problems ASP.NET Core writes by itself (an unknown route, a method a route does not have, a parameter it
/// cannot bind, an empty error status) the <c>code</c> member every answer of the service carries, and the matching
/// <c>type</c>. Problems the service writes (<see cref="Problems.Create"/>) already have one and are left alone.
/// Found by fuzzing: <c>DELETE /v1/accounts/{id}/api-keys/</c> answered 405 with a problem without a code.
/// </summary>
public static class ProblemCodes
{
    public const string MethodNotAllowed = "method_not_allowed";
    public const string NotAcceptable = "not_acceptable";

    public static IServiceCollection AddParticipationProblemCodes(this IServiceCollection services) =>
        services.Configure<ProblemDetailsOptions>(options =>
        {
            var previous = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                previous?.Invoke(context);
                AddCode(context.ProblemDetails);
            };
        });

    /// <summary>Adds <c>code</c> (and its <c>type</c>) to a problem that has none, from its status.</summary>
    public static void AddCode(Microsoft.AspNetCore.Mvc.ProblemDetails problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Extensions.ContainsKey("code"))
        {
            return;
        }

        var code = For(problem.Status ?? StatusCodes.Status500InternalServerError);
        problem.Extensions["code"] = code;
        problem.Type = Problems.TypeFor(code);
    }

    /// <summary>The code of a problem the framework wrote with this status.</summary>
    public static string For(int status) => status switch
    {
        StatusCodes.Status404NotFound => Problems.NotFound,
        StatusCodes.Status405MethodNotAllowed => MethodNotAllowed,
        StatusCodes.Status406NotAcceptable => NotAcceptable,
        StatusCodes.Status429TooManyRequests => Problems.RateLimited,
        StatusCodes.Status503ServiceUnavailable => Problems.ServiceUnavailable,
        >= 500 => Problems.InternalError,
        _ => Problems.RequestInvalid,
    };
}
