# syntax=docker/dockerfile:1
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Participation.Domain/Participation.Domain.csproj src/Participation.Domain/
COPY src/Participation.Api/Participation.Api.csproj src/Participation.Api/
RUN dotnet restore src/Participation.Api/Participation.Api.csproj
COPY src/ src/
RUN dotnet publish src/Participation.Api/Participation.Api.csproj -c Release --no-restore -o /app /p:UseAppHost=false

# Ubuntu chiseled: only the .NET runtime's own dependencies (no shell, no package manager), about half the size of the
# Debian image, non-root by default. "-extra" keeps ICU and tzdata: campaign time zones are IANA ids (Europe/Paris).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled-extra AS runtime
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_ENVIRONMENT=Production \
    DOTNET_gcServer=1
EXPOSE 8080
# No shell or curl in this image: the app probes its own /health/ready (exit 0 when ready), starting nothing else.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["dotnet", "Participation.Api.dll", "--health"]
# The image's unprivileged user (app, uid 1654); /app stays owned by root, read-only for it.
USER $APP_UID
ENTRYPOINT ["dotnet", "Participation.Api.dll"]
